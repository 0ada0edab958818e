from rest_framework.permissions import BasePermission

from ai_features import gate
from ai_features.registry import registry


class CapabilityPermission(BasePermission):
    """DRF permission: the view's ``capability`` must be enabled for the caller.

    Answers 403 with a plain reason, e.g. "Sentiment is not enabled for your team."
    """

    def has_permission(self, request, view) -> bool:
        capability = registry.resolve(view.capability)
        if gate.is_enabled(capability, request.user, request.workspace):
            return True
        self.message = gate.disabled_reason(capability, request.user, request.workspace)
        return False


class IsStaff(BasePermission):
    """Staff only: rollout changes and reading the audit log."""

    message = "Only staff can manage the AI rollout."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)
