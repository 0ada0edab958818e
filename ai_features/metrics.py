"""The one way a capability records a pilot metric.

    metric_record(capability="prediction", action=Action.ACCEPTED, user=..., workspace=...,
                  obj=contact, reason="Already talked to them")

A user's decision (accepted, dismissed, corrected, edited) is written in the
caller's transaction, so it exists exactly when the decision does. "Shown"
happens on page views: it is queued after the response's transaction commits
and written in bulk by a background task, so reading a page never waits on a
write. Metrics are recorded in every workspace (lessons check a trainee's own);
the rollout evidence reads production only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from django.db import models, transaction

from ai_features import per_request
from ai_features.declarations import AnyUser
from ai_features.models import SuggestionEvent
from ai_features.services import SuggestionEventInput, suggestion_event_record
from ai_features.tasks import record_suggestion_events
from crmcore.models import Workspace

Action = SuggestionEvent.Action


def suggestion_events_record_later(*, events: Iterable[SuggestionEventInput]) -> int:
    """Queue pilot-metric events for a background worker, after the transaction commits.

    During a request the events wait for the request's end and go out with its
    other events in one task (``ai_features.per_request``). Runs in-process
    (eagerly) when no broker is configured. Returns how many were queued.
    """
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
    transaction.on_commit(lambda: record_suggestion_events.delay(payload))


def metric_record(
    *,
    capability: str,
    action: str,
    user: AnyUser | None,
    workspace: Workspace,
    obj: models.Model | None = None,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Record one pilot-metric event (see the module docstring for when it is written)."""
    if action not in Action.values:
        raise ValueError(f"Unknown metric action {action!r}")
    if action == Action.SHOWN:
        suggestion_events_record_later(
            events=[
                SuggestionEventInput(
                    capability=capability,
                    action=action,
                    user_id=user.pk if user is not None and user.is_authenticated else None,
                    workspace_id=workspace.pk,
                    object_type=(obj._meta.model_name or "") if obj is not None else "",
                    object_id=obj.pk if obj is not None else None,
                    reason=reason,
                    detail=detail or {},
                )
            ]
        )
        return
    suggestion_event_record(
        capability=capability,
        action=action,
        user=user,
        workspace=workspace,
        obj=obj,
        reason=reason,
        detail=detail,
    )
