"""Resolving the active workspace.

Production unless the user has entered their own sandbox (the session keeps
its id). The production workspace is created by a data migration.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from crmcore.models import Workspace

SESSION_KEY = "crm_workspace_id"


def production_workspace() -> Workspace:
    workspace = Workspace.objects.filter(kind=Workspace.Kind.PRODUCTION).order_by("id").first()
    if workspace is None:
        workspace = Workspace.objects.create(name="Production", kind=Workspace.Kind.PRODUCTION)
    return workspace


def resolve_workspace(*, user: AbstractBaseUser | AnonymousUser, session) -> Workspace:
    workspace_id = session.get(SESSION_KEY) if session is not None else None
    if workspace_id and user.is_authenticated:
        sandbox = Workspace.objects.filter(
            pk=workspace_id, kind=Workspace.Kind.SANDBOX, owner_id=user.pk
        ).first()
        if sandbox is not None:
            return sandbox
        session.pop(SESSION_KEY, None)
    return production_workspace()


def workspace_enter(*, request, workspace: Workspace) -> None:
    """Make ``workspace`` the active one for this session (a sandbox the user owns)."""
    if workspace.is_sandbox and workspace.owner_id != request.user.pk:
        raise PermissionError("Only its owner can enter a sandbox")
    if workspace.is_sandbox:
        request.session[SESSION_KEY] = workspace.pk
    else:
        request.session.pop(SESSION_KEY, None)
    request.workspace = workspace


def workspace_leave(*, request) -> None:
    request.session.pop(SESSION_KEY, None)
    request.workspace = production_workspace()
