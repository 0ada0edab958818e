"""Work done once per request: gate answers memoised, "shown" metrics written together.

Between Django's ``request_started`` and ``request_finished`` signals (wired
in ``AIFeaturesConfig.ready``) a request has a scope of its own:

* ``memo``: the gate's reads of the cache (the kill switch, each flag's
  snapshot with the user's memberships) are made once per request; every
  later check in the same request answers from memory (``gate``). A change
  of a flag, a switch or a membership in the request forgets them
  (``forget``, called by the cache flushes of ``ai_features.signals``).
* ``shown``: "shown" pilot metrics queued during the request are sent as one
  batch when the request finishes, after the response went out: one task,
  one bulk ``INSERT`` (``ai_features.metrics.suggestion_events_record_later``,
  which ``AIFeaturesConfig.ready`` installs with ``on_close``).

Outside a request (jobs, shells, tests calling services directly) there is
no scope: the gate reads the cache on every check and metrics are queued
one call at a time, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestScope:
    memo: dict[Any, Any] = field(default_factory=dict)
    shown: list[dict[str, Any]] = field(default_factory=list)


_scope: ContextVar[RequestScope | None] = ContextVar("ai_features_request_scope", default=None)


#: Called with a finished request's "shown" events (``ai_features.metrics`` installs it).
_send_shown: list[Callable[[list[dict[str, Any]]], None]] = []


def on_close(send: Callable[[list[dict[str, Any]]], None]) -> None:
    """Install the function that sends a finished request's "shown" events (once)."""
    _send_shown[:] = [send]


def current() -> RequestScope | None:
    """The running request's scope, or None outside a request."""
    return _scope.get()


def open_scope(**kwargs: Any) -> None:
    """``request_started``: a fresh scope for the request."""
    _scope.set(RequestScope())


def close_scope(**kwargs: Any) -> None:
    """``request_finished``: send the request's "shown" metrics as one batch, forget the memo."""
    scope = _scope.get()
    _scope.set(None)
    if scope is not None and scope.shown:
        for send in _send_shown:
            send(scope.shown)


def forget() -> None:
    """Drop the memoised gate answers (a flag, switch or membership changed)."""
    scope = _scope.get()
    if scope is not None:
        scope.memo.clear()
