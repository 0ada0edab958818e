"""How one capability reads another: through its facade, never its tables.

A capability names its facade class (``Capability.facade``); the facade's
methods take plain values and return frozen dataclasses or dicts of them, never
querysets or models. ``facade_for`` answers with the facade, or with
``Unavailable`` (and the plain reason) when the capability is absent, has no
facade, or is off:

* for a user (``user`` given): off where the gate says so for that user;
* for a computation without a user (a job, or a caller that has already asked
  the gate for its user): off under the kill switch. What one capability has
  stored may feed another's computation; what a person sees of it is decided
  per person by the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import import_string

from ai_features import gate
from ai_features.declarations import AnyUser
from ai_features.registry import registry
from crmcore.models import Workspace


@dataclass(frozen=True)
class Unavailable:
    """What a facade answers with when its capability cannot be read."""

    capability: str
    reason: str
    available: bool = False


def facade_for(key: str, *, workspace: Workspace | None, user: AnyUser | None = None) -> Any:
    """The facade of capability ``key``, or ``Unavailable`` with the reason."""
    if key not in registry:
        return Unavailable(key, f"The {key} capability is not installed.")
    capability = registry.get(key)
    if capability.facade is None:
        return Unavailable(key, f"{capability.title} offers nothing to other capabilities.")
    if user is not None:
        if not gate.is_enabled(capability, user, workspace):
            return Unavailable(key, gate.disabled_reason(capability, user, workspace))
    elif gate.kill_switch_active():
        return Unavailable(key, "AI features are switched off for everyone (kill switch).")
    return import_string(capability.facade)()


def id_filter(field: str, ids: list[int]) -> dict[str, Any]:
    """``field`` among ``ids``: a range when the ids are dense (cheaper to build and run).

    A range may match ids that were not asked for; callers look results up by id.
    """
    lo, hi = min(ids), max(ids)
    if hi - lo < 2 * len(ids):
        return {f"{field}__gte": lo, f"{field}__lte": hi}
    return {f"{field}__in": ids}
