"""Writes of the ai_features app."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction

from ai_features.models import SuggestionEvent


@dataclass(frozen=True)
class SuggestionEventInput:
    capability: str
    action: str
    user_id: int | None
    workspace_id: int
    object_type: str = ""
    object_id: int | None = None
    team_id: int | None = None
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def suggestion_events_record(*, events: Iterable[SuggestionEventInput]) -> int:
    """Record pilot-metric events in one bulk insert. Returns how many."""
    rows = [
        SuggestionEvent(
            capability=e.capability,
            action=e.action,
            user_id=e.user_id,
            workspace_id=e.workspace_id,
            team_id=e.team_id,
            object_type=e.object_type,
            object_id=e.object_id,
            reason=e.reason,
            detail=e.detail,
        )
        for e in events
    ]
    if rows:
        SuggestionEvent.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


@transaction.atomic
def suggestion_event_record(
    *,
    capability: str,
    action: str,
    user,
    workspace,
    obj=None,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> SuggestionEvent:
    """Record one accept/dismiss/correct (or shown) event for ``obj``."""
    if action not in SuggestionEvent.Action.values:
        raise ValueError(f"Unknown suggestion action {action!r}")
    team_id = None
    if user is not None and getattr(user, "is_authenticated", False):
        team = user.crm_teams.filter(workspace=workspace).order_by("id").first()
        team_id = team.pk if team else None
    return SuggestionEvent.objects.create(
        capability=capability,
        action=action,
        user=user if getattr(user, "is_authenticated", False) else None,
        workspace=workspace,
        team_id=team_id,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=obj.pk if obj is not None else None,
        reason=reason,
        detail=detail or {},
    )


# -- rollout: phases, kill switch, audit ----------------------------------------

PHASES = ("off", "pilot", "percentage", "everyone")


class RolloutError(ValueError):
    """A rollout change that cannot be made (unknown team, missing reason, ...)."""


def flag_state(flag) -> dict[str, Any]:
    """A flag's rollout-relevant state as plain JSON (the audit's before/after)."""
    if flag is None or not flag.pk:
        return {"exists": False}
    return {
        "everyone": flag.everyone,
        "percent": str(flag.percent) if flag.percent is not None else None,
        "users": sorted(flag.users.values_list("username", flat=True)),
        "teams": sorted(flag.teams.values_list("name", flat=True)),
        "groups": sorted(flag.groups.values_list("name", flat=True)),
        "staff": flag.staff,
        "superusers": flag.superusers,
        "authenticated": flag.authenticated,
        "requires_training": flag.requires_training,
    }


def phase_of(state: dict[str, Any]) -> str:
    """The phase a flag state amounts to: off, pilot, percentage or everyone."""
    if not state.get("exists", True) or state["everyone"] is False:
        return "off"
    if state["everyone"] is True:
        return "everyone"
    if state["percent"] not in (None, "0", "0.0"):
        return "percentage"
    if state["users"] or state["teams"] or state["groups"]:
        return "pilot"
    return "off"


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise RolloutError("A reason is required for every rollout change.")
    return reason


def audit_entry_create(
    *,
    actor,
    source: str,
    action: str,
    capability: str = "",
    target: str = "",
    before: dict[str, Any],
    after: dict[str, Any],
    reason: str = "",
):
    from ai_features.models import RolloutAuditEntry

    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return RolloutAuditEntry.objects.create(
        actor=actor if authenticated else None,
        actor_username=actor.get_username() if authenticated else "",
        source=source,
        action=action,
        capability=capability,
        target=target,
        before=before,
        after=after,
        reason=reason,
    )


def _require_staff(actor) -> None:
    if actor is None or not getattr(actor, "is_staff", False):
        raise PermissionError("Only staff can change the AI rollout.")


@transaction.atomic
def rollout_set_phase(
    *,
    capability: str,
    actor,
    reason: str,
    source: str,
    phase: str | None = None,
    percent: float | Decimal | None = None,
    teams: Iterable[str] | None = None,
    users: Iterable[str] | None = None,
):
    """Move a capability to a phase and write the audit entry. Returns the entry.

    * ``off``: ``everyone`` False (pilot teams and users are kept for later).
    * ``pilot``: the named ``teams`` (production team names) and ``users``
      (usernames) replace the current ones; no percentage.
    * ``percentage``: ``percent`` of all users by sticky bucket, pilot teams
      and users stay on. Giving ``percent`` alone implies this phase.
    * ``everyone``: on for everyone.

    ``actor`` must be staff; ``reason`` is required. Nothing changes on error.
    """
    from django.contrib.auth import get_user_model
    from waffle import get_waffle_flag_model

    from ai_features.models import RolloutAuditEntry
    from ai_features.registry import registry
    from crmcore.models import Team
    from crmcore.workspaces import production_workspace

    _require_staff(actor)
    reason = _require_reason(reason)
    try:
        cap = registry.get(capability)
    except KeyError as exc:
        raise RolloutError(exc.args[0]) from None
    if phase is None and percent is not None:
        phase = "percentage"
    if phase not in PHASES:
        raise RolloutError(f"Unknown phase {phase!r} (phases: {', '.join(PHASES)})")
    if phase == "percentage":
        if percent is None:
            raise RolloutError("The percentage phase needs a percent.")
        percent = Decimal(str(percent)).quantize(Decimal("0.1"))
        if not Decimal("0.1") <= percent <= Decimal("99.9"):
            raise RolloutError("Percent must be between 0.1 and 99.9 (use phase everyone for 100).")
    elif percent is not None:
        raise RolloutError(f"A percent only goes with the percentage phase, not {phase!r}.")

    team_objs = None
    if teams is not None:
        names = list(dict.fromkeys(teams))
        found = {
            t.name: t for t in Team.objects.filter(workspace=production_workspace(), name__in=names)
        }
        missing = [n for n in names if n not in found]
        if missing:
            raise RolloutError(f"Unknown team(s): {', '.join(missing)}")
        team_objs = [found[n] for n in names]
    user_objs = None
    if users is not None:
        names = list(dict.fromkeys(users))
        found_users = {
            u.get_username(): u for u in get_user_model().objects.filter(username__in=names)
        }
        missing = [n for n in names if n not in found_users]
        if missing:
            raise RolloutError(f"Unknown user(s): {', '.join(missing)}")
        user_objs = [found_users[n] for n in names]
    if phase == "pilot" and team_objs is None and user_objs is None:
        raise RolloutError("The pilot phase needs at least one --team or --user.")

    flag_model = get_waffle_flag_model()
    flag, _ = flag_model.objects.select_for_update().get_or_create(
        name=cap.flag_name, defaults={"everyone": False}
    )
    before = flag_state(flag)
    if phase == "off":
        flag.everyone = False
    elif phase == "everyone":
        flag.everyone = True
    elif phase == "pilot":
        flag.everyone = None
        flag.percent = None
    else:
        flag.everyone = None
        flag.percent = percent
    flag.save()
    if team_objs is not None:
        flag.teams.set(team_objs)
    if user_objs is not None:
        flag.users.set(user_objs)
    # Now for this process, and again after commit for every other one.
    flag.flush()
    transaction.on_commit(flag.flush)
    after = flag_state(flag)
    return audit_entry_create(
        actor=actor,
        source=source,
        action=RolloutAuditEntry.Action.PHASE,
        capability=cap.key,
        target=cap.flag_name,
        before={"phase": phase_of(before), **before},
        after={"phase": phase_of(after), **after},
        reason=reason,
    )


def kill_switch_state(switch) -> dict[str, Any]:
    if switch is None or not switch.pk:
        return {"active": False, "exists": False}
    return {"active": switch.active, "exists": True}


@transaction.atomic
def rollout_kill_switch_set(*, active: bool, actor, reason: str, source: str):
    """Pull (``active=True``) or release the kill switch. Returns the audit entry."""
    from waffle import get_waffle_switch_model

    from ai_features.gate import KILL_SWITCH
    from ai_features.models import RolloutAuditEntry

    _require_staff(actor)
    reason = _require_reason(reason)
    switch, _ = (
        get_waffle_switch_model()
        .objects.select_for_update()
        .get_or_create(name=KILL_SWITCH, defaults={"active": False})
    )
    before = kill_switch_state(switch)
    switch.active = bool(active)
    switch.save()
    switch.flush()
    transaction.on_commit(switch.flush)
    return audit_entry_create(
        actor=actor,
        source=source,
        action=RolloutAuditEntry.Action.KILL_SWITCH,
        target=KILL_SWITCH,
        before=before,
        after=kill_switch_state(switch),
        reason=reason,
    )


def suggestion_events_record_later(*, events: Iterable[SuggestionEventInput]) -> int:
    """Queue pilot-metric events for a background worker, after the transaction commits.

    During a request the events wait for the request's end and go out with
    its other events in one task (``ai_features.per_request``). Runs
    in-process (eagerly) when no broker is configured. Returns how many were queued.
    """
    from dataclasses import asdict

    from ai_features import per_request

    payload = [asdict(e) for e in events]
    for e in payload:
        if e["action"] not in SuggestionEvent.Action.values:
            raise ValueError(f"Unknown suggestion action {e['action']!r}")
    scope = per_request.current()
    if scope is not None:
        # In a request: sent with the request's other events once it finishes.
        scope.shown.extend(payload)
    elif payload:
        suggestion_events_queue(payload)
    return len(payload)


def suggestion_events_queue(payload: list[dict[str, Any]]) -> None:
    """One task for a batch of events (JSON dicts), queued after the transaction commits."""
    from ai_features.tasks import record_suggestion_events

    transaction.on_commit(lambda: record_suggestion_events.delay(payload))


def capability_flags_ensure(**kwargs: Any) -> int:
    """Create the missing flag (off) of every registered capability. Returns how many.

    Connected to ``post_migrate``, so a capability added by settings gets its
    flag, and shows up in the admin, with no further code.
    """
    from waffle import get_waffle_flag_model

    from ai_features.registry import registry

    flag_model = get_waffle_flag_model()
    existing = set(flag_model.objects.values_list("name", flat=True))
    missing = [
        flag_model(name=cap.flag_name, note=f"AI capability {cap.key!r}: {cap.title}.")
        for cap in registry
        if cap.flag_name not in existing
    ]
    if missing:
        flag_model.objects.bulk_create(missing, ignore_conflicts=True)
        for flag in missing:
            flag.flush()
    return len(missing)
