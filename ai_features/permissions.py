from rest_framework.permissions import BasePermission

from ai_features.surfaces import CapabilityPermission

__all__ = ["CapabilityPermission", "IsStaff"]


class IsStaff(BasePermission):
    """Staff only: rollout changes and reading the audit log."""

    message = "Only staff can manage the AI rollout."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)
