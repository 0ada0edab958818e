"""The gate: the one question every AI surface asks.

    is_enabled(capability, user, workspace) -> bool

Order: kill switch (off for everyone) -> sandbox workspace (on for its
trainee) -> the capability's flag.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from waffle import get_waffle_flag_model, switch_is_active

from crmcore.extensions import ContactPanel

KILL_SWITCH = "ai_kill_switch"


def is_enabled(capability: Any, user: Any, workspace: Any) -> bool:
    from ai_features.registry import registry

    cap = registry.resolve(capability)
    if switch_is_active(KILL_SWITCH):
        return False
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if workspace is not None and workspace.is_sandbox:
        return workspace.owner_id == user.pk
    flag = get_waffle_flag_model().get(cap.flag_name)
    return bool(flag.is_active_for_user(user))


def gated_panel(capability: Any, panel: ContactPanel) -> ContactPanel:
    """Wrap a panel so it renders only where the gate says yes."""
    inner = panel.render

    def render(request, contact):
        if not is_enabled(capability, request.user, request.workspace):
            return None
        return inner(request, contact)

    return replace(panel, render=render)
