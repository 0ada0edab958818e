"""Permissions of the CRM API.

Authenticated users work in ``request.workspace`` (production, or their own
sandbox once entered). Querysets are already scoped to it; the object check
below is a second line that answers 404 (never 403) for a row of another
workspace, so a row's existence elsewhere is never revealed.
"""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated


class InRequestWorkspace(IsAuthenticated):
    def has_object_permission(self, request, view, obj) -> bool:
        if obj.workspace_id != request.workspace.pk:
            raise NotFound()
        return True
