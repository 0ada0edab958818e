"""Domain events: a tiny, explicit publish/subscribe.

Apps declare the events they emit with ``register_event`` and listeners
subscribe with ``subscribe``. crmcore itself emits the CRM events
(``contact.created``, ``deal.stage_changed``, ...); the AI app emits its own
(``contact.sentiment_dropped``, ...). Webhook delivery is one listener.

Emit after commit (``emit_on_commit``) so that listeners never see rows that
are rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    name: str
    workspace_id: int
    payload: dict[str, Any]
    is_sandbox: bool = False


Listener = Callable[[Event], None]

_events: dict[str, str] = {}
_listeners: list[Listener] = []


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


def emit(name: str, *, workspace, payload: dict[str, Any]) -> Event:
    if name not in _events:
        raise ValueError(f"Unknown event {name!r}; register it first")
    event = Event(
        name=name,
        workspace_id=workspace.pk,
        payload=payload,
        is_sandbox=workspace.is_sandbox,
    )
    for listener in list(_listeners):
        try:
            listener(event)
        except Exception:  # a broken listener must not break the domain write
            logger.exception("Event listener %r failed for %s", listener, name)
    return event


def emit_on_commit(name: str, *, workspace, payload: dict[str, Any]) -> None:
    transaction.on_commit(lambda: emit(name, workspace=workspace, payload=payload))


register_event("contact.created", "A contact was created.")
register_event("contact.updated", "A contact was updated.")
register_event("deal.stage_changed", "A deal moved to another stage.")
register_event("interaction.created", "An interaction was logged.")
