"""Who may see or run the prediction capability.

People go through ``ai_features.gate.is_enabled``. Background jobs run for a
workspace, not a person: they run only when the kill switch is off and the
capability is on for someone there (a sandbox, or a flag that is not off for
everyone).
"""

from __future__ import annotations

from waffle import get_waffle_flag_model, switch_is_active

from ai_features import gate
from ai_features.registry import registry

CAPABILITY = "prediction"


def is_enabled(user, workspace) -> bool:
    return gate.is_enabled(CAPABILITY, user, workspace)


def jobs_enabled(workspace) -> tuple[bool, str]:
    """(allowed, plain reason when not) for jobs of ``workspace``."""
    capability = registry.get(CAPABILITY)
    if switch_is_active(gate.KILL_SWITCH):
        return False, "AI features are switched off (kill switch)."
    if workspace is not None and workspace.is_sandbox:
        return True, ""
    flag = get_waffle_flag_model().get(capability.flag_name)
    if flag.pk is None or flag.everyone is False:
        return False, f"{capability.title} is not enabled for anyone."
    if flag.everyone or flag.percent or flag.staff or flag.authenticated or flag.superusers:
        return True, ""
    if flag.users.exists() or flag.groups.exists() or flag.teams.exists():
        return True, ""
    return False, f"{capability.title} is not enabled for anyone."
