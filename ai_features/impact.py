"""What a rollout change would do, said before it is confirmed.

``phase_impact`` counts the active users a capability would turn on or off
for (flag rules only: a lesson requirement may still hold some back);
``kill_switch_impact`` counts, per capability, who would lose it. A fixed
number of queries: users, their teams and groups, the flags.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from waffle import get_waffle_flag_model

from ai_features.models import FlagSnapshot, flag_rule
from ai_features.registry import registry
from crmcore.models import Team
from crmcore.workspaces import production_workspace


def _people() -> tuple[list[Any], dict[int, dict[str, set[int]]]]:
    users = list(get_user_model().objects.filter(is_active=True))
    memberships: dict[int, dict[str, set[int]]] = defaultdict(
        lambda: {"teams": set(), "groups": set()}
    )
    for user_id, team_id in Team.members.through.objects.values_list("user_id", "team_id"):
        memberships[user_id]["teams"].add(team_id)
    through = get_user_model().groups.through
    for user_id, group_id in through.objects.values_list("user_id", "group_id"):
        memberships[user_id]["groups"].add(group_id)
    return users, memberships


def _audience(snapshot: FlagSnapshot, users: list[Any], memberships: dict) -> set[int]:
    return {u.pk for u in users if flag_rule(snapshot, snapshot.members, memberships[u.pk], u)}


def _snapshot(flag: Any) -> FlagSnapshot:
    members = {
        "users": {u.pk for u in flag.users.all()},
        "teams": {t.pk for t in flag.teams.all()},
        "groups": {g.pk for g in flag.groups.all()},
    }
    return flag.snapshot(members)


def _plural(n: int) -> str:
    return f"{n} more user" if n == 1 else f"{n} more users"


def phase_impact(
    *,
    capability: str,
    phase: str,
    percent: Decimal | None = None,
    teams: list[str] | None = None,
    users: list[str] | None = None,
) -> str:
    """ "Turns Prediction on for 37 more users." (or off, or changes nothing)."""
    cap = registry.get(capability)
    flag = (
        get_waffle_flag_model()
        .objects.filter(name=cap.flag_name)
        .prefetch_related("users", "teams", "groups")
        .first()
    )
    people, memberships = _people()
    now = _snapshot(flag) if flag is not None else None
    before = _audience(now, people, memberships) if now is not None else set()
    base = now or FlagSnapshot(
        cap.flag_name,
        True,
        None,
        False,
        False,
        False,
        None,
        False,
        frozenset(),
        frozenset(),
        frozenset(),
    )
    team_ids = (
        frozenset(
            Team.objects.filter(workspace=production_workspace(), name__in=teams).values_list(
                "pk", flat=True
            )
        )
        if teams is not None
        else base.teams
    )
    user_ids = (
        frozenset(get_user_model().objects.filter(username__in=users).values_list("pk", flat=True))
        if users is not None
        else base.users
    )
    if phase == "off":
        after: set[int] = set()
    elif phase == "everyone":
        after = {u.pk for u in people}
    else:
        future = base._replace(
            exists=True,
            everyone=None,
            percent=percent if phase == "percentage" else None,
            teams=team_ids,
            users=user_ids,
        )
        after = _audience(future, people, memberships)
    on, off = len(after - before), len(before - after)
    title = cap.title
    training = " (those who passed the lesson)" if base.requires_training else ""
    if on and off:
        return f"Turns {title} on for {_plural(on)} and off for {off}{training}."
    if on:
        return f"Turns {title} on for {_plural(on)}{training}."
    if off:
        return f"Turns {title} off for {off} {'user' if off == 1 else 'users'} who have it now."
    return f"Changes nothing for anyone: {title} stays on for the same {len(before)} users."


def kill_switch_impact(*, active: bool) -> str:
    """ "Turns every AI capability off: Prediction for 37 users, ..." (or back on)."""
    flags = {
        f.name: f
        for f in get_waffle_flag_model()
        .objects.filter(name__in=[c.flag_name for c in registry])
        .prefetch_related("users", "teams", "groups")
    }
    people, memberships = _people()
    parts = []
    for cap in registry:
        flag = flags.get(cap.flag_name)
        count = len(_audience(_snapshot(flag), people, memberships)) if flag is not None else 0
        parts.append(f"{cap.title} for {count} {'user' if count == 1 else 'users'}")
    if active:
        return "Turns every AI capability off for everyone: " + ", ".join(parts) + "."
    return "Turns the AI capabilities back on as their rollouts say: " + ", ".join(parts) + "."
