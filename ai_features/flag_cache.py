"""The flag's cache loaders: its member ids and each user's team and group ids.

Both are cached until a change flushes them (``ai_features.signals``), so a
warm gate check makes no query; cold, whatever is missing is read in a single
UNION query. The functions take the flag (or the flag model) they load for;
``ai_features.models.Flag`` delegates to them.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Value
from waffle.utils import get_cache

from ai_features.flag_rules import FlagSnapshot
from crmcore.models import Team

FLAG_MEMBERS_KEY = "ai_features:flag:{name}:members"
FLAG_SNAPSHOT_KEY = "ai_features:flag:{name}:snapshot"
USER_MEMBERSHIPS_KEY = "ai_features:user:{pk}:memberships"
#: Flag and membership caches live until invalidated by a change.
CACHE_TIMEOUT = None

Members = dict[str, Any]
NO_MEMBERS: Members = {"users": (), "teams": (), "groups": ()}


def user_memberships_key(user_id: Any) -> str:
    return USER_MEMBERSHIPS_KEY.format(pk=user_id)


def members_cache_key(name: str) -> str:
    return FLAG_MEMBERS_KEY.format(name=name)


def snapshot_cache_key(name: str) -> str:
    return FLAG_SNAPSHOT_KEY.format(name=name)


def _id_rows(kind: str, queryset: Any, column: str) -> Any:
    return queryset.annotate(kind=Value(kind, output_field=models.CharField())).values_list(
        "kind", column
    )


def members_queries(flag_model: Any, flag_id: Any) -> list[Any]:
    """(kind, id) rows of a flag's users, teams and groups."""
    return [
        _id_rows("u", flag_model.users.through.objects.filter(flag_id=flag_id), "user_id"),
        _id_rows("t", flag_model.teams.through.objects.filter(flag_id=flag_id), "team_id"),
        _id_rows("g", flag_model.groups.through.objects.filter(flag_id=flag_id), "group_id"),
    ]


def memberships_queries(flag_model: Any, user_id: Any) -> list[Any]:
    """(kind, id) rows of a user's teams and groups."""
    user_model = flag_model.users.field.related_model
    return [
        _id_rows("ut", Team.members.through.objects.filter(user_id=user_id), "team_id"),
        _id_rows("ug", user_model.groups.through.objects.filter(user_id=user_id), "group_id"),
    ]


def _rows(queries: list[Any]) -> dict[str, set[Any]]:
    rows: dict[str, set[Any]] = {"u": set(), "t": set(), "g": set(), "ut": set(), "ug": set()}
    union = queries[0].union(*queries[1:], all=True) if len(queries) > 1 else queries[0]
    for kind, pk in union:
        rows[kind].add(pk)
    return rows


def snapshot(flag: Any, members: Members) -> FlagSnapshot:
    """The flag's rules and member ids as plain values."""
    return FlagSnapshot(
        name=flag.name,
        exists=bool(flag.pk),
        everyone=flag.everyone,
        authenticated=flag.authenticated,
        staff=flag.staff,
        superusers=flag.superusers,
        percent=flag.percent,
        requires_training=flag.requires_training,
        users=frozenset(members["users"]),
        teams=frozenset(members["teams"]),
        groups=frozenset(members["groups"]),
    )


def members_and_memberships(flag: Any, user_id: Any) -> tuple[Members, Members | None]:
    """The flag's member ids and the user's team and group ids.

    Both are cached; whatever is missing is read in a single query.
    """
    cache = get_cache()
    flag_key = members_cache_key(flag.name)
    user_key = user_memberships_key(user_id) if user_id is not None else None
    keys = [flag_key, user_key] if user_key else [flag_key]
    found = cache.get_many(keys)
    members: Members | None = found.get(flag_key)
    memberships: Members | None = found.get(user_key) if user_key else None
    queries: list[Any] = []
    if members is None:
        queries += members_queries(type(flag), flag.pk)
    if user_key and memberships is None:
        queries += memberships_queries(type(flag), user_id)
    if queries:
        rows = _rows(queries)
        if members is None:
            members = {"users": rows["u"], "teams": rows["t"], "groups": rows["g"]}
            cache.set(flag_key, members, CACHE_TIMEOUT)
        if user_key and memberships is None:
            memberships = {"teams": rows["ut"], "groups": rows["ug"]}
            cache.set(user_key, memberships, CACHE_TIMEOUT)
    assert members is not None
    return members, memberships


def gate_data(flag_model: Any, name: str, user_id: Any) -> tuple[FlagSnapshot, Members | None]:
    """The flag's snapshot and the user's memberships, for the gate.

    One cache read when warm. Cold: the flag row (waffle's cache, else one
    query), then its members and the user's team and group ids in a single
    query; memberships are not read when ``everyone`` decides.
    """
    cache = get_cache()
    snapshot_key = snapshot_cache_key(name)
    user_key = user_memberships_key(user_id)
    found = cache.get_many([snapshot_key, user_key])
    flag_snapshot: FlagSnapshot | None = found.get(snapshot_key)
    memberships = found.get(user_key)
    flag = None
    if flag_snapshot is None:
        flag = flag_model.get(name)
        if not flag.pk or flag.everyone is not None:
            flag_snapshot = snapshot(flag, NO_MEMBERS)
            cache.set(snapshot_key, flag_snapshot, CACHE_TIMEOUT)
    if flag_snapshot is not None and (
        not flag_snapshot.exists or flag_snapshot.everyone is not None
    ):
        return flag_snapshot, memberships
    if flag_snapshot is not None and memberships is not None:
        return flag_snapshot, memberships
    queries = members_queries(flag_model, flag.pk) if flag is not None else []
    if memberships is None:
        queries += memberships_queries(flag_model, user_id)
    rows = _rows(queries)
    if flag_snapshot is None:
        assert flag is not None
        members = {"users": rows["u"], "teams": rows["t"], "groups": rows["g"]}
        flag_snapshot = snapshot(flag, members)
        cache.set(snapshot_key, flag_snapshot, CACHE_TIMEOUT)
    if memberships is None:
        memberships = {"teams": rows["ut"], "groups": rows["ug"]}
        cache.set(user_key, memberships, CACHE_TIMEOUT)
    return flag_snapshot, memberships


def snapshot_get(flag_model: Any, name: str) -> FlagSnapshot:
    """The flag's snapshot alone (for decisions without a user), cached like the gate's."""
    cache = get_cache()
    snapshot_key = snapshot_cache_key(name)
    flag_snapshot: FlagSnapshot | None = cache.get(snapshot_key)
    if flag_snapshot is None:
        flag = flag_model.get(name)
        members = (
            members_and_memberships(flag, None)[0]
            if flag.pk and flag.everyone is None
            else NO_MEMBERS
        )
        flag_snapshot = snapshot(flag, members)
        cache.set(snapshot_key, flag_snapshot, CACHE_TIMEOUT)
    return flag_snapshot
