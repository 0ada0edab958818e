from rest_framework.permissions import BasePermission

from ai_features import gate
from ai_features.registry import registry


class CapabilityPermission(BasePermission):
    """DRF permission: the view's ``capability`` must be enabled for the caller.

    Answers 403 with a plain reason, e.g. "Sentiment is not enabled for you."
    """

    def has_permission(self, request, view) -> bool:
        capability = registry.resolve(view.capability)
        if gate.is_enabled(capability, request.user, request.workspace):
            return True
        self.message = f"{capability.title} is not enabled for you."
        return False
