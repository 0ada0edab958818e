"""Writes of the ai_features app."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
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
