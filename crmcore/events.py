"""Domain events: a tiny, explicit publish/subscribe over a transactional outbox.

Apps declare the events they emit with ``register_event`` and listeners
subscribe with ``subscribe`` (one event at a time) or ``subscribe_batch``
(the events committed together, as one list). crmcore itself emits the CRM
events (``contact.created``, ``deal.stage_changed``, ...); the AI app emits
its own (``contact.sentiment_dropped``, ...).

``emit_on_commit`` (and ``emit_many_on_commit`` for bulk writers) writes each
event as an ``OutboxEvent`` row in the current transaction, so an event exists
exactly when its change was committed. After the commit the in-process
listeners get it (they never see rows that are rolled back). Webhook
subscribers are told by a delivery worker reading the outbox, never by the
process that made the change: see ``crmcore.integrations.services``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from crmcore.models import OutboxEvent, Workspace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    name: str
    workspace_id: int
    payload: dict[str, Any]
    is_sandbox: bool = False
    #: The outbox row (None for an event dispatched without one, e.g. in tests).
    id: int | None = None
    #: False when the webhook subscribers are not to hear of it (a quiet import).
    notify_subscribers: bool = True


Listener = Callable[[Event], None]
BatchListener = Callable[[list[Event]], None]

_events: dict[str, str] = {}
_listeners: list[Listener] = []
_batch_listeners: list[BatchListener] = []


def register_event(name: str, description: str) -> None:
    _events[name] = description


def registered_events() -> dict[str, str]:
    return dict(sorted(_events.items()))


def subscribe(listener: Listener) -> Listener:
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def subscribe_batch(listener: BatchListener) -> BatchListener:
    """Subscribe to the events committed together, given as one list (bulk writers' too)."""
    if listener not in _batch_listeners:
        _batch_listeners.append(listener)
    return listener


def unsubscribe_batch(listener: BatchListener) -> None:
    if listener in _batch_listeners:
        _batch_listeners.remove(listener)


def dispatch(events: Sequence[Event]) -> None:
    """Hand events to the in-process listeners; a broken listener is logged, never raised."""
    if not events:
        return
    for listener in list(_listeners):
        for event in events:
            try:
                listener(event)
            except Exception:  # a broken listener must not break the domain write
                logger.exception("Event listener %r failed for %s", listener, event.name)
    for batch_listener in list(_batch_listeners):
        try:
            batch_listener(list(events))
        except Exception:
            logger.exception("Event listener %r failed for %d events", batch_listener, len(events))


def _check_registered(name: str) -> None:
    if name not in _events:
        raise ValueError(f"Unknown event {name!r}; register it first")


def emit(name: str, *, workspace: Workspace, payload: dict[str, Any]) -> Event:
    """Dispatch an event to the in-process listeners now, without the outbox.

    For events about nothing stored; everything a transaction changes goes
    through ``emit_on_commit``.
    """
    _check_registered(name)
    event = Event(
        name=name, workspace_id=workspace.pk, payload=payload, is_sandbox=workspace.is_sandbox
    )
    dispatch([event])
    return event


def emit_on_commit(name: str, *, workspace: Workspace, payload: dict[str, Any]) -> Event:
    """Write ``name`` to the outbox with the current transaction; listeners get it on commit."""
    return emit_many_on_commit(workspace=workspace, events=[(name, payload)])[0]


def emit_many_on_commit(
    *,
    workspace: Workspace,
    events: Sequence[tuple[str, dict[str, Any]]],
    notify_subscribers: bool = True,
) -> list[Event]:
    """Write many events to the outbox in one insert; listeners get them on commit.

    With ``notify_subscribers`` off the events still reach the in-process
    listeners (analysis, the sandbox's activity) but no webhook endpoint.
    """
    for name, _ in events:
        _check_registered(name)
    if not events:
        return []
    rows = OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(
                workspace_id=workspace.pk,
                name=name,
                payload=payload,
                notify_subscribers=notify_subscribers,
            )
            for name, payload in events
        ]
    )
    written = [
        Event(
            name=row.name,
            workspace_id=workspace.pk,
            payload=payload,
            is_sandbox=workspace.is_sandbox,
            id=row.pk,
            notify_subscribers=notify_subscribers,
        )
        for row, (_, payload) in zip(rows, events, strict=True)
    ]
    transaction.on_commit(lambda: dispatch(written))
    return written


register_event("contact.created", "A contact was created.")
register_event("contact.updated", "A contact was updated.")
register_event("deal.stage_changed", "A deal moved to another stage.")
register_event("interaction.created", "An interaction was logged.")
