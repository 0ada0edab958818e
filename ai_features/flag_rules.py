"""The flag's evaluation: who a capability's flag is on for, from plain values.

``flag_rule`` answers for a user from the flag (or its cached ``FlagSnapshot``),
its member ids and the user's team and group ids; the percentage is sticky
(``percentage_bucket``). No database access here: the loaders are in
``ai_features.flag_cache``, the model in ``ai_features.models``.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any, NamedTuple

#: Buckets per flag: a bucket is one hundredth of a percent.
BUCKETS = 10_000


def percentage_bucket(flag_name: str, user_id: Any) -> int:
    """The user's sticky bucket for a flag, 0..9999 (hundredths of a percent).

    sha256 of "<flag name>:<user id>", so the same user gets the same answer on
    every device, request and background job; a user inside 10% stays inside
    at 30% because the threshold only grows.
    """
    digest = hashlib.sha256(f"{flag_name}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_percentage(flag_name: str, user_id: Any, percent: Decimal | float | None) -> bool:
    if not percent or user_id is None:
        return False
    return percentage_bucket(flag_name, user_id) < round(Decimal(str(percent)) * 100)


class FlagSnapshot(NamedTuple):
    """What the gate needs of a flag, as plain values (cheap to cache and unpickle)."""

    name: str
    exists: bool
    everyone: bool | None
    authenticated: bool
    staff: bool
    superusers: bool
    percent: Decimal | None
    requires_training: bool
    users: frozenset[Any]
    teams: frozenset[Any]
    groups: frozenset[Any]

    @property
    def members(self) -> dict[str, Any]:
        return {"users": self.users, "teams": self.teams, "groups": self.groups}


def flag_rule(
    flag: Any, members: dict[str, Any], memberships: dict[str, Any] | None, user: Any
) -> bool | None:
    """everyone, then authenticated/staff/superusers, users, teams, groups, percentage.

    ``flag`` is a Flag or a FlagSnapshot. ``None`` means "no rule matched"
    (waffle's convention). ``requires_training`` is the gate's business.
    """
    if flag.everyone is not None:
        return bool(flag.everyone)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if flag.authenticated:
        return True
    if flag.staff and getattr(user, "is_staff", False):
        return True
    if flag.superusers and getattr(user, "is_superuser", False):
        return True
    if user.pk in members["users"]:
        return True
    if memberships is not None:
        if members["teams"] & memberships["teams"]:
            return True
        if members["groups"] & memberships["groups"]:
            return True
    if in_percentage(flag.name, user.pk, flag.percent):
        return True
    return None
