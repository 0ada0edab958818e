"""The gate: the one question every AI surface asks.

    is_enabled(capability, user, workspace) -> bool

Order: kill switch (off for everyone) -> sandbox workspace (on for its
trainee) -> the capability's flag: ``everyone``, then users, teams, groups,
then the sticky percentage bucket -> the flag's optional training
requirement (the user passed the capability's lesson, asked of the
registered training provider).

The first time a check says yes to a user in production (not in a sandbox),
the gate records the exposure (``ai_features.models.Exposure``, with the
rule that said yes) after the transaction commits; a cache key remembers it,
so later checks do not write again.

A warm check makes no database query: waffle caches the kill switch and the
flag, ``ai_features.Flag`` caches its members and each user's team and group
ids (flushed by ``ai_features.signals`` on every membership change). Cold, a
check makes at most three queries (switch, flag, members and memberships).
Within a request, the kill switch and each flag's data are read from the
cache once; later checks answer from memory (``ai_features.per_request``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from waffle import get_waffle_flag_model, switch_is_active

from ai_features import per_request
from ai_features.declarations import AnyUser, Capability, CapabilityRef, installed
from ai_features.exposure import exposure_key, exposure_record_later
from ai_features.flag_rules import flag_rule
from ai_features.models import Flag
from crmcore import observability
from crmcore.models import Workspace

KILL_SWITCH = "ai_kill_switch"

TrainingProvider = Callable[[AnyUser, str], bool]
TrainingShare = Callable[[set[Any], str], "float | None"]

_training_provider: TrainingProvider | None = None
_training_share: TrainingShare | None = None


def register_training_provider(
    provider: TrainingProvider | None, *, share: TrainingShare | None = None
) -> None:
    """Install ``provider(user, capability_key) -> bool`` ("has passed the lesson").

    The training sandbox registers one from its ``AppConfig.ready()``. Without
    one, a flag that requires training is off for everyone outside a sandbox.
    ``None`` removes the provider. ``share(user_ids, capability_key)`` is the
    optional bulk form (0..1 or None) the readiness checklist uses; without it
    the provider is asked once per target user.
    """
    global _training_provider, _training_share
    _training_provider = provider
    _training_share = share if provider is not None else None


def training_provider() -> TrainingProvider | None:
    return _training_provider


def training_share(user_ids: set[Any], capability_key: str) -> float | None:
    """Share of ``user_ids`` who passed the capability's lesson; None without a provider."""
    if _training_provider is None or not user_ids:
        return None
    if _training_share is not None:
        return _training_share(user_ids, capability_key)
    users = get_user_model().objects.filter(pk__in=user_ids)
    passed = sum(1 for user in users if training_passed(user, capability_key))
    return round(passed / len(user_ids), 4)


def training_passed(user: AnyUser, capability_key: str) -> bool:
    provider = _training_provider
    return bool(provider(user, capability_key)) if provider is not None else False


KILL_SWITCH_CACHE_KEY = "ai_features:kill_switch"


def kill_switch_active() -> bool:
    """The kill switch, from a plain cached bool (waffle reads it when cold).

    ``ai_features.signals`` forgets the bool whenever the switch is saved or deleted.
    """
    scope = per_request.current()
    if scope is not None and KILL_SWITCH_CACHE_KEY in scope.memo:
        return bool(scope.memo[KILL_SWITCH_CACHE_KEY])
    active = cache.get(KILL_SWITCH_CACHE_KEY)
    if active is None:
        active = switch_is_active(KILL_SWITCH)
        cache.set(KILL_SWITCH_CACHE_KEY, active, None)
    if scope is not None:
        scope.memo[KILL_SWITCH_CACHE_KEY] = active
    return bool(active)


def _flag_model() -> type[Flag]:
    """waffle's flag model: ``ai_features.Flag`` (``WAFFLE_FLAG_MODEL``)."""
    return cast("type[Flag]", get_waffle_flag_model())


def _gate_data(flag_name: str, user_id: Any) -> tuple[Any, Any]:
    """The flag's snapshot and the user's memberships: read once per request (per_request)."""
    scope = per_request.current()
    key = ("gate_data", flag_name, user_id)
    if scope is not None and key in scope.memo:
        return cast("tuple[Any, Any]", scope.memo[key])
    found = _flag_model().gate_data(flag_name, user_id)
    if scope is not None:
        scope.memo[key] = found
    return found


def _flag(cap: Capability) -> Flag:
    return _flag_model().get(cap.flag_name)


def may_profile(contact: Any) -> bool:
    """May any capability score, analyse or personalize for this contact?

    No when the person objected to profiling (``Contact.do_not_profile``).
    Every surface about one contact (panels, API fields) and every job asks it,
    per contact or through :func:`profiled`.
    """
    return not getattr(contact, "do_not_profile", False)


def profiled(queryset: Any, contact_path: str = "") -> Any:
    """``queryset`` without the rows about contacts who object to profiling.

    ``contact_path`` leads from the queryset's model to the contact
    (``"contact__"`` for interactions, ``""`` for contacts).
    """
    return queryset.exclude(**{f"{contact_path}do_not_profile": True})


def is_enabled_for_contact(
    capability: CapabilityRef, user: AnyUser | None, workspace: Workspace | None, contact: Any
) -> bool:
    """The capability is on for ``user`` and ``contact`` may be profiled."""
    return may_profile(contact) and is_enabled(capability, user, workspace)


@dataclass(frozen=True)
class JobDecision:
    """May a capability's background job run for a workspace, and why (not)."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def jobs_allowed(capability: CapabilityRef, workspace: Workspace | None) -> JobDecision:
    """The gate for work without a request (analysis, training, scoring).

    Same rules and caches as ``is_enabled``, asked of the workspace instead of
    one user: never under the kill switch; always in a sandbox (its trainee
    has every capability there); in production while the flag is on for
    someone: everyone, every signed-in user, staff, superusers, a percentage,
    or named users, teams or groups. Nothing is computed that nobody may see.
    """
    cap = installed.resolve(capability)
    if kill_switch_active():
        return JobDecision(False, "AI features are switched off for everyone (kill switch).")
    if workspace is not None and workspace.is_sandbox:
        return JobDecision(True, f"{cap.title} is on in a training sandbox.")
    snapshot = _flag_model().snapshot_get(cap.flag_name)
    if not snapshot.exists or snapshot.everyone is False:
        return JobDecision(False, f"{cap.title} is not enabled for anyone.")
    if snapshot.everyone:
        return JobDecision(True, f"{cap.title} is on for everyone.")
    for on, who in (
        (snapshot.authenticated, "every signed-in user"),
        (snapshot.staff, "staff"),
        (snapshot.superusers, "superusers"),
        (bool(snapshot.percent), f"{Decimal(snapshot.percent or 0).normalize():f}% of users"),
        (bool(snapshot.users), "named users"),
        (bool(snapshot.teams), "pilot teams"),
        (bool(snapshot.groups), "groups"),
    ):
        if on:
            return JobDecision(True, f"{cap.title} is on for {who}.")
    return JobDecision(False, f"{cap.title} is not enabled for anyone.")


def is_enabled(
    capability: CapabilityRef, user: AnyUser | None, workspace: Workspace | None
) -> bool:
    """Is the capability on for ``user`` working in ``workspace``?

    ``capability`` is a key, a Capability or its class; ``workspace`` may be
    ``None`` (a job outside any workspace: the production rules apply).
    """
    cap = installed.resolve(capability)
    enabled = _decide(cap, user, workspace)
    observability.gate_decision(capability=cap.key, enabled=enabled)
    return enabled


def _decide(cap: Capability, user: AnyUser | None, workspace: Workspace | None) -> bool:
    if kill_switch_active():
        return False
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if workspace is not None and workspace.is_sandbox:
        return bool(workspace.owner_id == user.pk)
    snapshot, memberships = _gate_data(cap.flag_name, user.pk)
    if not flag_rule(snapshot, snapshot.members, memberships, user):
        return False
    if snapshot.requires_training and not training_passed(user, cap.key):
        return False
    _exposure_note(cap.key, user, snapshot, memberships)
    return True


def _exposure_note(key: str, user: Any, snapshot: Any, memberships: dict[str, Any] | None) -> None:
    """Record the user's first exposure once; a request asks the cache once per capability."""
    scope = per_request.current()
    memo_key = ("exposed", key, user.pk)
    if scope is not None:
        if memo_key in scope.memo:
            return
        scope.memo[memo_key] = True
    if cache.get(exposure_key(key, user.pk)):
        return
    exposure_record_later(
        capability=key, user_id=user.pk, rule=rule_name(snapshot, memberships, user)
    )


def rule_name(snapshot: Any, memberships: dict[str, Any] | None, user: Any) -> str:
    """Which of the flag's rules says yes to ``user`` (for the exposure record)."""
    if snapshot.everyone:
        rule = "everyone"
    elif snapshot.authenticated:
        rule = "every signed-in user"
    elif snapshot.staff and getattr(user, "is_staff", False):
        rule = "staff"
    elif snapshot.superusers and getattr(user, "is_superuser", False):
        rule = "superusers"
    elif user.pk in snapshot.users:
        rule = "named user"
    elif memberships is not None and snapshot.teams & memberships["teams"]:
        rule = "pilot team"
    elif memberships is not None and snapshot.groups & memberships["groups"]:
        rule = "group"
    else:
        rule = f"{Decimal(snapshot.percent or 0).normalize():f}% of users"
    return f"{rule}, after the lesson" if snapshot.requires_training else rule


def disabled_reason(
    capability: CapabilityRef, user: AnyUser | None, workspace: Workspace | None
) -> str:
    """A plain sentence saying why the capability is off for ``user``."""
    cap = installed.resolve(capability)
    if kill_switch_active():
        return f"{cap.title} is switched off for everyone for now."
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return f"Sign in to use {cap.title}."
    if workspace is not None and workspace.is_sandbox:
        return f"{cap.title} is only available in your own sandbox."
    flag = _flag(cap)
    if flag.is_active_for_user(user) and flag.requires_training:
        return f"{cap.title} needs its lesson first: pass it in your training sandbox."
    return f"{cap.title} is not enabled for your team."


def training_pending(
    capability: CapabilityRef, user: AnyUser | None, workspace: Workspace | None
) -> bool:
    """Is ``capability`` off for ``user`` only because they have not passed its lesson yet?

    Asked in production (a sandbox needs no lesson); the same cached rules as
    :func:`is_enabled`, so a warm answer makes no query.
    """
    cap = installed.resolve(capability)
    if kill_switch_active() or user is None or not getattr(user, "is_authenticated", False):
        return False
    if workspace is not None and workspace.is_sandbox:
        return False
    snapshot, memberships = _gate_data(cap.flag_name, user.pk)
    if not snapshot.requires_training:
        return False
    if not flag_rule(snapshot, snapshot.members, memberships, user):
        return False
    return not training_passed(user, cap.key)
