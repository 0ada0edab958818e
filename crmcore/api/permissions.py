"""Permissions of the CRM API.

Authenticated users work in ``request.workspace`` (production, or their own
sandbox once entered). Querysets are already scoped to it; the object check
below is a second line that answers 404 (never 403) for a row of another
workspace, so a row's existence elsewhere is never revealed.

Changing or deleting a row follows the pages' rule (``selectors.may_change``
and ``may_delete``): admins change everything; a rep what they own and what
nobody owns, and everything in their own training sandbox; only admins
delete accounts. Anything else answers 403 saying so.
"""

from __future__ import annotations

from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated

from crmcore import selectors


class InRequestWorkspace(IsAuthenticated):
    def has_object_permission(self, request, view, obj) -> bool:
        if obj.workspace_id != request.workspace.pk:
            raise NotFound()
        if request.method in SAFE_METHODS:
            return True
        deleting = request.method == "DELETE"
        check = selectors.may_delete if deleting else selectors.may_change
        allowed = check(request.user, obj, workspace=request.workspace)
        if not allowed:
            what = obj._meta.verbose_name
            if obj._meta.model_name == "account" and deleting:
                raise PermissionDenied("Only an administrator can delete an account.")
            raise PermissionDenied(
                f"Only its owner or an administrator can {'delete' if deleting else 'change'} "
                f"this {what}."
            )
        return True
