"""Reads for finding duplicate contacts in a workspace, and for merging a pair.

The finder reads the workspace's contacts in one query (a few columns each)
and groups them in one pass:

* **Same email**: the email lower-cased and trimmed.
* **Same phone**: the digits only; the last 9 digits when there are at least
  9 (``+44 20 7946 0018`` and ``020 7946 0018`` meet), otherwise all of them
  (at least 6).
* **Similar name at <account>**: compared only within one account (never
  across the workspace): the name without case, accents and punctuation
  equal, or a ``difflib`` ratio of at least :data:`NAME_SIMILARITY`. An
  account with more than :data:`NAME_COMPARE_MAX` contacts is compared on the
  equal name only, so the cost stays linear.

A group of contacts sharing a key gives one pair per contact with the group's
oldest contact (``k - 1`` pairs, not ``k²``); a pair found for several reasons
is one suggestion listing them all. Each pair is ordered oldest first: the
older contact is the one kept by default.

The finder reads every contact of the workspace (about 3 s for 100,000 on
PostgreSQL, most of it comparing names), so the page reads its suggestions
through the shared cache (:func:`contact_duplicate_suggestions_cached`, the
same for every web process), kept :data:`SUGGESTIONS_CACHE_SECONDS` and
forgotten when a merge commits.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache

from crmcore.models import Contact, Workspace

NAME_SIMILARITY = 0.85
NAME_COMPARE_MAX = 200
PHONE_TAIL = 9
PHONE_MIN_DIGITS = 6
SUGGESTIONS_CACHE_SECONDS = 300

REASON_EMAIL = "Same email"
REASON_PHONE = "Same phone"
REASON_ORDER = {REASON_EMAIL: 0, REASON_PHONE: 1}


@dataclass(frozen=True)
class DuplicateSuggestion:
    """Two contacts that look like one person, and why (ids; ``first_id < second_id``)."""

    first_id: int
    second_id: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class DuplicatePair:
    """A suggestion with its two contacts loaded (for the page)."""

    first: Contact
    second: Contact
    reasons: tuple[str, ...]


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def normalise_phone(phone: str | None) -> str:
    """The digits of ``phone``: its last 9 when it has that many, '' when too short."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) >= PHONE_TAIL:
        return digits[-PHONE_TAIL:]
    return digits if len(digits) >= PHONE_MIN_DIGITS else ""


def normalise_name(first_name: str | None, last_name: str | None) -> str:
    """Lower case, without accents or punctuation, single spaces."""
    text = unicodedata.normalize("NFKD", f"{first_name or ''} {last_name or ''}")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def names_similar(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if a == b:
        return True
    if 2 * min(len(a), len(b)) / (len(a) + len(b)) < NAME_SIMILARITY:
        return False  # the ratio can be no higher than this
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.quick_ratio() >= NAME_SIMILARITY and matcher.ratio() >= NAME_SIMILARITY


def _pairs_in_groups(groups: Iterable[list[int]]) -> Iterable[tuple[int, int]]:
    """Each member of a group with its oldest (smallest id) member."""
    for ids in groups:
        if len(ids) > 1:
            oldest = min(ids)
            for pk in ids:
                if pk != oldest:
                    yield oldest, pk


def _name_pairs(members: list[tuple[int, str]]) -> Iterable[tuple[int, int]]:
    """Pairs of similar names among one account's contacts (id, normalised name)."""
    by_name: dict[str, list[int]] = defaultdict(list)
    for pk, name in members:
        if name:
            by_name[name].append(pk)
    yield from _pairs_in_groups(by_name.values())
    if len(members) > NAME_COMPARE_MAX:
        return
    # One representative per distinct name, compared with each other.
    distinct = sorted((min(ids), name) for name, ids in by_name.items())
    for i, (pk_a, name_a) in enumerate(distinct):
        for pk_b, name_b in distinct[i + 1 :]:
            if names_similar(name_a, name_b):
                yield pk_a, pk_b


def contact_duplicate_suggestions(*, workspace: Workspace) -> list[DuplicateSuggestion]:
    """Every suggested pair of duplicate contacts in ``workspace``: one query.

    Ordered by the number of reasons (most first), then by the ids.
    """
    rows = (
        Contact.objects.in_workspace(workspace)
        .order_by()
        .values_list(
            "pk", "first_name", "last_name", "email", "phone", "account_id", "account__name"
        )
    )
    by_email: dict[str, list[int]] = defaultdict(list)
    by_phone: dict[str, list[int]] = defaultdict(list)
    by_account: dict[int, list[tuple[int, str]]] = defaultdict(list)
    account_names: dict[int, str] = {}
    for pk, first, last, email, phone, account_id, account_name in rows:
        if key := normalise_email(email):
            by_email[key].append(pk)
        if key := normalise_phone(phone):
            by_phone[key].append(pk)
        if account_id is not None:
            by_account[account_id].append((pk, normalise_name(first, last)))
            account_names[account_id] = account_name

    reasons: dict[tuple[int, int], list[str]] = defaultdict(list)

    def add(pairs: Iterable[tuple[int, int]], reason: str) -> None:
        for a, b in pairs:
            key = (a, b) if a < b else (b, a)
            if reason not in reasons[key]:
                reasons[key].append(reason)

    add(_pairs_in_groups(by_email.values()), REASON_EMAIL)
    add(_pairs_in_groups(by_phone.values()), REASON_PHONE)
    for account_id, members in by_account.items():
        add(_name_pairs(members), f"Similar name at {account_names[account_id]}")

    suggestions = [
        DuplicateSuggestion(
            first_id=a,
            second_id=b,
            reasons=tuple(sorted(why, key=lambda r: (REASON_ORDER.get(r, 2), r))),
        )
        for (a, b), why in reasons.items()
    ]
    suggestions.sort(key=lambda s: (-len(s.reasons), s.first_id, s.second_id))
    return suggestions


def _suggestions_key(workspace_id: int) -> str:
    return f"crmcore:duplicates:{workspace_id}"


def contact_duplicate_suggestions_cached(*, workspace: Workspace) -> list[DuplicateSuggestion]:
    """The finder's suggestions, computed at most every few minutes per workspace.

    Contacts merged or deleted since are left out by the page (their rows are
    gone); new duplicates appear when the entry expires or after a merge.
    """
    key = _suggestions_key(workspace.pk)
    found: list[DuplicateSuggestion] | None = cache.get(key)
    if found is None:
        found = contact_duplicate_suggestions(workspace=workspace)
        cache.set(key, found, SUGGESTIONS_CACHE_SECONDS)
    return found


def contact_duplicate_suggestions_forget(workspace_id: int) -> None:
    cache.delete(_suggestions_key(workspace_id))


def contact_duplicates_slice(
    *, workspace: Workspace, offset: int, limit: int
) -> tuple[list[DuplicatePair], bool]:
    """Suggestions ``offset`` to ``offset + limit`` with their contacts loaded,
    and whether more follow. Two queries whatever the slice: the suggestions,
    then the slice's contacts (with account and owner); one once the
    suggestions are cached."""
    suggestions = contact_duplicate_suggestions_cached(workspace=workspace)
    shown = suggestions[offset : offset + limit]
    ids = {pk for s in shown for pk in (s.first_id, s.second_id)}
    contacts = (
        Contact.objects.in_workspace(workspace).select_related("account", "owner").in_bulk(ids)
        if ids
        else {}
    )
    pairs = [
        DuplicatePair(first=contacts[s.first_id], second=contacts[s.second_id], reasons=s.reasons)
        for s in shown
        if s.first_id in contacts and s.second_id in contacts
    ]
    return pairs, len(suggestions) > offset + limit


def contact_duplicate_reasons(*, first: Contact, second: Contact) -> tuple[str, ...]:
    """Why two given contacts look alike (the finder's rules; no query)."""
    found = []
    if (email := normalise_email(first.email)) and email == normalise_email(second.email):
        found.append(REASON_EMAIL)
    if (phone := normalise_phone(first.phone)) and phone == normalise_phone(second.phone):
        found.append(REASON_PHONE)
    if (
        first.account_id is not None
        and first.account_id == second.account_id
        and names_similar(
            normalise_name(first.first_name, first.last_name),
            normalise_name(second.first_name, second.last_name),
        )
    ):
        account = first.account
        found.append(f"Similar name at {account.name if account is not None else 'one account'}")
    return tuple(found)


def contact_pair_get(
    *, workspace: Workspace, keep_pk: int, other_pk: int
) -> tuple[Contact, Contact] | None:
    """The two contacts of a merge, from ``workspace`` (one query), or ``None``."""
    contacts = (
        Contact.objects.in_workspace(workspace)
        .select_related("account", "owner", "team")
        .in_bulk([keep_pk, other_pk])
    )
    if keep_pk == other_pk or len(contacts) != 2:
        return None
    return contacts[keep_pk], contacts[other_pk]
