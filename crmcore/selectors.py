"""Reads of the CRM domain, each scoped to a workspace passed explicitly.

Selectors own ``select_related``/``prefetch_related``: a page calls one or a
few of them and its query count stays fixed whatever the amount of data.
Every selector takes ``workspace`` as a keyword-only argument; an object of
another workspace is never returned (detail selectors answer ``None``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    CharField,
    Count,
    EmailField,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.deletion import Collector
from django.db.models.functions import Coalesce, Concat, Lower
from django.utils import timezone

from crmcore.models import (
    Account,
    AuditEntry,
    Campaign,
    Contact,
    Deal,
    Interaction,
    Order,
    OrderLine,
    SavedFilter,
    Task,
    Team,
    Workspace,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ZERO = Decimal("0")


# Contacts -------------------------------------------------------------------


def contact_list(
    *,
    workspace: Workspace,
    q: str = "",
    stage: str = "",
    team_id: int | None = None,
    owner_id: int | None = None,
) -> QuerySet[Contact]:
    """Contacts of ``workspace``, searched and filtered, with account, team and owner.

    ``q`` is split into words; every word must match the first name, last
    name, email or account name (case-insensitive), so "ada lovelace" finds
    Ada Lovelace and "ada acme" finds Ada at Acme (:func:`contact_search`).

    On PostgreSQL each word is looked up in two trigram indexes (migration
    ``0010_search_trigram_indexes``): one on the contact's names and email
    together, one on account names. The matching accounts are read first
    (one small query per word) so the contacts' condition is an OR of two
    indexed conditions on one table, not a join that must scan every
    contact.
    """
    contacts: QuerySet[Contact] = Contact.objects.in_workspace(workspace).select_related(
        "account", "team", "owner"
    )
    contacts = contact_search(contacts, workspace=workspace, words=q.split())
    if stage:
        contacts = contacts.filter(lifecycle_stage=stage)
    if team_id is not None:
        contacts = contacts.filter(team_id=team_id)
    if owner_id is not None:
        contacts = contacts.filter(owner_id=owner_id)
    return contacts


def contact_search(
    contacts: QuerySet[Contact], *, workspace: Workspace, words: list[str]
) -> QuerySet[Contact]:
    """``contacts`` narrowed to those matching every word of ``words``.

    A word matches the contact's first name, last name, email, phone or
    external id (:func:`contact_search_text`, one trigram index on
    PostgreSQL) or its account's name (the ids of the matching accounts,
    read first through their own trigram index). The web search and the
    API's ``?search=`` both ask here, so both are answered from the indexes.
    """
    if not words:
        return contacts
    contacts = contacts.alias(search_text=contact_search_text())
    for word in words:
        account_ids = account_ids_matching(workspace=workspace, word=word)
        by_account = (
            Q(account__name__icontains=word)
            if account_ids is None
            else Q(account_id__in=account_ids)
        )
        contacts = contacts.filter(Q(search_text__icontains=word) | by_account)
    return contacts


#: The contact list's sortable columns: ``?sort=<key>`` or ``?sort=-<key>``.
#: Anything else is ignored (the list keeps its default order, by name).
CONTACT_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("last_name", "first_name", "id"),
    "company": ("account__name", "last_name", "id"),
    "email": ("email", "id"),
    "stage": ("lifecycle_stage", "last_name", "id"),
    "team": ("team__name", "last_name", "id"),
    "owner": ("owner__last_name", "owner__first_name", "last_name", "id"),
    "created": ("created_at", "id"),
}


def contact_sort(raw: str | None) -> tuple[str, tuple[str, ...]] | None:
    """``(sort key as given, order_by fields)`` for a whitelisted sort, else ``None``."""
    if not raw or len(raw) > 20:
        return None
    descending = raw.startswith("-")
    fields = CONTACT_SORTS.get(raw[1:] if descending else raw)
    if fields is None:
        return None
    if descending:
        fields = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in fields)
    return raw, fields


#: Above this many accounts matching one word, contacts are joined to accounts
#: instead of listing the accounts' ids (a word that common is not selective).
SEARCH_ACCOUNTS_MAX = 500


def contact_search_text() -> Concat:
    """Names, email, phone and external id in one text: the expression the search index holds.

    Migration ``0015_contact_search_phone_external_id`` indexes ``UPPER()`` of
    exactly this expression, which is what ``icontains`` compares on
    PostgreSQL. The parts are joined by a space and a search word has none,
    so a word never matches across two parts.
    """
    return Concat(*CONTACT_SEARCH_FIELDS_JOINED, output_field=CharField())


#: The contact fields the search looks in, in the order of the indexed text.
CONTACT_SEARCH_FIELDS = ("first_name", "last_name", "email", "phone", "external_id")
CONTACT_SEARCH_FIELDS_JOINED: tuple[Any, ...] = tuple(
    part
    for index, field in enumerate(CONTACT_SEARCH_FIELDS)
    for part in ((Value(" "), field) if index else (field,))
)


def account_ids_matching(*, workspace: Workspace, word: str) -> list[int] | None:
    """Ids of the accounts whose name contains ``word``; None when there are too many."""
    ids = list(
        Account.objects.in_workspace(workspace)
        .filter(name__icontains=word)
        .order_by()
        .values_list("pk", flat=True)[: SEARCH_ACCOUNTS_MAX + 1]
    )
    return None if len(ids) > SEARCH_ACCOUNTS_MAX else ids


def contact_get(*, workspace: Workspace, pk: int) -> Contact | None:
    """One contact of ``workspace`` with its account, team and owner, or ``None``."""
    return (
        Contact.objects.in_workspace(workspace)
        .select_related("account", "team", "owner")
        .filter(pk=pk)
        .first()
    )


def contact_with_email(
    *, workspace: Workspace | int, email: str, exclude_pk: int | None = None
) -> Contact | None:
    """The workspace's contact with this email, whatever its case (the database's own rule).

    Compared with the database's ``LOWER`` on both sides, as the unique
    constraint ``contact_email_ci_per_workspace`` compares them.
    """
    if not email:
        return None
    found = (
        Contact.objects.in_workspace(workspace)
        .alias(email_lower=Lower("email"))
        .filter(email_lower=Lower(Value(email, output_field=EmailField())))
        .exclude(email="")
    )
    if exclude_pk is not None:
        found = found.exclude(pk=exclude_pk)
    contact: Contact | None = (
        found.only("pk", "workspace_id", "first_name", "last_name", "email").order_by("pk").first()
    )
    return contact


def contact_stage_counts(*, workspace: Workspace) -> dict[str, int]:
    """Number of contacts per lifecycle stage (every stage present, zero when empty)."""
    counts = dict.fromkeys(Contact.Stage.values, 0)
    rows = (
        Contact.objects.in_workspace(workspace)
        .order_by()
        .values_list("lifecycle_stage")
        .annotate(n=Count("id"))
    )
    for stage, n in rows:
        counts[stage] = n
    return counts


# Timeline -------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "interaction", "order" or "deal"
    occurred_at: dt.datetime
    item: Any


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    number: int
    num_pages: int
    total: int
    per_page: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


TIMELINE_PER_PAGE = 25


def _timeline_keys(
    *, workspace: Workspace, contact: Contact
) -> QuerySet[Any, tuple[str, int, dt.datetime]]:
    """(kind, id, ts) of every interaction, order and deal of ``contact``, as one UNION."""

    def keys(
        model: type[Interaction | Order | Deal], kind: str, timestamp: str
    ) -> QuerySet[Any, tuple[str, int, dt.datetime]]:
        rows: QuerySet[Any, tuple[str, int, dt.datetime]] = (
            model.objects.in_workspace(workspace)
            .filter(contact_id=contact.pk)
            .order_by()
            .annotate(kind=Value(kind, output_field=CharField()), ts=F(timestamp))
            .values_list("kind", "id", "ts")
        )
        return rows

    return keys(Interaction, "interaction", "occurred_at").union(
        keys(Order, "order", "ordered_at"),
        keys(Deal, "deal", "created_at"),
        all=True,
    )


def contact_timeline(
    *,
    workspace: Workspace,
    contact: Contact,
    page: int = 1,
    per_page: int = TIMELINE_PER_PAGE,
) -> TimelinePage:
    """One page of a contact's history, newest first.

    Interactions (by ``occurred_at``), orders with their lines and products
    (by ``ordered_at``) and deals (by ``created_at``). The database orders and
    slices the keys of the three tables (a UNION), then each kind on the page
    is fetched in bulk: at most six queries whatever the history's size. The
    bulk fetches are unordered (the keys give the order): with the models'
    date ordering SQLite would walk the workspace's whole date index to sort
    25 rows, so the page slowed down as the workspace grew.
    Out-of-range page numbers are clamped to the first or last page.
    """
    union = _timeline_keys(workspace=workspace, contact=contact)
    total = union.count()
    num_pages = max(1, -(-total // per_page))
    number = min(max(1, page), num_pages)
    offset = (number - 1) * per_page
    keys = list(union.order_by("-ts", "-id", "kind")[offset : offset + per_page]) if total else []

    ids: dict[str, list[int]] = {"interaction": [], "order": [], "deal": []}
    for kind, pk, _ts in keys:
        ids[kind].append(pk)
    objects: dict[str, dict[int, Any]] = {"interaction": {}, "order": {}, "deal": {}}
    if ids["interaction"]:
        objects["interaction"] = (
            Interaction.objects.in_workspace(workspace)
            .select_related("author")
            .order_by()
            .in_bulk(ids["interaction"])
        )
    if ids["order"]:
        lines = OrderLine.objects.select_related("product").order_by("id")
        objects["order"] = (
            Order.objects.in_workspace(workspace)
            .prefetch_related(Prefetch("lines", queryset=lines))
            .order_by()
            .in_bulk(ids["order"])
        )
    if ids["deal"]:
        objects["deal"] = (
            Deal.objects.in_workspace(workspace)
            .select_related("account")
            .order_by()
            .in_bulk(ids["deal"])
        )

    entries = [
        TimelineEntry(kind=kind, occurred_at=ts, item=objects[kind][pk])
        for kind, pk, ts in keys
        if pk in objects[kind]
    ]
    return TimelinePage(
        entries=entries, number=number, num_pages=num_pages, total=total, per_page=per_page
    )


# Accounts -------------------------------------------------------------------


def account_get(*, workspace: Workspace, pk: int) -> Account | None:
    return Account.objects.in_workspace(workspace).filter(pk=pk).first()


def account_contacts(*, workspace: Workspace, account: Account) -> QuerySet[Contact]:
    return (
        Contact.objects.in_workspace(workspace)
        .filter(account_id=account.pk)
        .select_related("owner", "team")
    )


def account_deals(*, workspace: Workspace, account: Account) -> QuerySet[Deal]:
    return (
        Deal.objects.in_workspace(workspace)
        .filter(account_id=account.pk)
        .select_related("contact", "owner")
    )


# Deals ----------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineColumn:
    stage: str
    label: str
    count: int
    total: Decimal
    deals: list[Deal]

    @property
    def is_open(self) -> bool:
        return self.stage in Deal.OPEN_STAGES


PIPELINE_DEALS_PER_STAGE = 50


def deal_stage_totals(
    *, workspace: Workspace, open_only: bool = False, owner_id: int | None = None
) -> dict[str, dict[str, Any]]:
    """``{stage: {"count": n, "total": Decimal}}`` for every stage, in stage order: one aggregate.

    ``owner_id`` counts only that user's deals.
    """
    totals = {stage: {"count": 0, "total": ZERO} for stage in Deal.Stage.values}
    deals = Deal.objects.in_workspace(workspace)
    if open_only:
        deals = deals.filter(stage__in=Deal.OPEN_STAGES)
        totals = {stage: totals[stage] for stage in Deal.OPEN_STAGES}
    if owner_id is not None:
        deals = deals.filter(owner_id=owner_id)
    rows = (
        deals.order_by()
        .values_list("stage")
        .annotate(n=Count("id"), total=Coalesce(Sum("amount"), Value(ZERO)))
    )
    for stage, n, total in rows:
        if stage in totals:
            totals[stage] = {"count": n, "total": total}
    return totals


#: What a pipeline card shows: the deal, its contact's name and its account's name.
PIPELINE_CARD_FIELDS = (
    "id",
    "workspace_id",
    "name",
    "stage",
    "amount",
    "expected_close",
    "owner_id",
    "contact_id",
    "account_id",
    "contact__first_name",
    "contact__last_name",
    "account__name",
)


def _pipeline_top_ids(*, workspace: Workspace, per_stage: int, owner_id: int | None) -> list[int]:
    """Ids of the ``per_stage`` largest deals of every stage, in one query.

    One ``ORDER BY amount DESC, id DESC LIMIT n`` per stage, each read from
    the index ``deal_ws_stage_amount`` (workspace, stage, amount, id), joined
    by ``UNION ALL``. Each part is wrapped in its own ``SELECT`` because
    SQLite allows no ``LIMIT`` directly in the parts of a compound query.
    """
    parts: list[str] = []
    params: list[Any] = []
    for index, stage in enumerate(Deal.Stage.values):
        top = Deal.objects.in_workspace(workspace).filter(stage=stage)
        if owner_id is not None:
            top = top.filter(owner_id=owner_id)
        sql, part_params = (
            top.order_by("-amount", "-id").values_list("id")[:per_stage].query.sql_with_params()
        )
        parts.append(f"SELECT * FROM ({sql}) AS top_{index}")
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return [row[0] for row in cursor.fetchall()]


def deal_pipeline(
    *,
    workspace: Workspace,
    per_stage: int = PIPELINE_DEALS_PER_STAGE,
    owner_id: int | None = None,
) -> list[PipelineColumn]:
    """A column per deal stage: its count and sum, and its ``per_stage`` largest deals.

    Three queries whatever the number of deals: the totals per stage (one
    aggregate), the ids of the top deals of every stage (one index range per
    stage, :func:`_pipeline_top_ids`), and those deals with their contact's
    and account's names (joins for the rows shown only, the card's columns
    only). ``owner_id`` keeps that user's deals ("my deals").
    """
    totals = deal_stage_totals(workspace=workspace, owner_id=owner_id)
    ids = _pipeline_top_ids(workspace=workspace, per_stage=per_stage, owner_id=owner_id)
    deals = (
        list(
            Deal.objects.in_workspace(workspace)
            .filter(pk__in=ids)
            .select_related("contact", "account")
            .only(*PIPELINE_CARD_FIELDS)
            .order_by()
        )
        if ids
        else []
    )
    deals.sort(key=lambda deal: (-deal.amount, -deal.pk))
    by_stage: dict[str, list[Deal]] = {stage: [] for stage in Deal.Stage.values}
    for deal in deals:
        by_stage[deal.stage].append(deal)
    return [
        PipelineColumn(
            stage=stage,
            label=label,
            count=totals[stage]["count"],
            total=totals[stage]["total"],
            deals=by_stage[stage],
        )
        for stage, label in Deal.Stage.choices
    ]


# Dashboard ------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardSummary:
    contacts_by_stage: dict[str, int]
    open_deals_by_stage: dict[str, dict[str, Any]]
    open_deal_count: int
    open_deal_value: Decimal
    recent_interaction_count: int

    @property
    def contact_count(self) -> int:
        return sum(self.contacts_by_stage.values())


RECENT_DAYS = 30


def dashboard_summary(*, workspace: Workspace, now: dt.datetime | None = None) -> DashboardSummary:
    """Counts for the dashboard: three aggregate queries."""
    now = now or timezone.now()
    open_by_stage = deal_stage_totals(workspace=workspace, open_only=True)
    recent = (
        Interaction.objects.in_workspace(workspace)
        .filter(occurred_at__gte=now - dt.timedelta(days=RECENT_DAYS))
        .count()
    )
    return DashboardSummary(
        contacts_by_stage=contact_stage_counts(workspace=workspace),
        open_deals_by_stage=open_by_stage,
        open_deal_count=sum(row["count"] for row in open_by_stage.values()),
        open_deal_value=sum((row["total"] for row in open_by_stage.values()), ZERO),
        recent_interaction_count=recent,
    )


DASHBOARD_SUMMARY_KEY = "crmcore:dashboard_summary:{workspace_id}"


def dashboard_summary_cached(*, workspace: Workspace, seconds: int) -> DashboardSummary:
    """:func:`dashboard_summary`, kept ``seconds`` in the cache per workspace (0: not kept).

    The three aggregates read every contact, open deal and recent interaction
    of the workspace; with the cache a dashboard view costs one cache read,
    and its counts are at most ``seconds`` old.
    """
    key = DASHBOARD_SUMMARY_KEY.format(workspace_id=workspace.pk)
    summary: DashboardSummary | None = cache.get(key) if seconds > 0 else None
    if summary is None:
        summary = dashboard_summary(workspace=workspace)
        if seconds > 0:
            cache.set(key, summary, seconds)
    return summary


def interaction_recent(*, workspace: Workspace, limit: int = 10) -> list[Interaction]:
    """The latest ``limit`` interactions of the workspace, with their contact."""
    return list(
        Interaction.objects.in_workspace(workspace).select_related("contact", "contact__account")[
            :limit
        ]
    )


# Filters and campaigns ------------------------------------------------------


def team_list(*, workspace: Workspace) -> QuerySet[Team]:
    return Team.objects.in_workspace(workspace)


def contact_owner_list(*, workspace: Workspace) -> QuerySet[User]:
    """Users owning at least one contact of the workspace, by name."""
    owner_ids = (
        Contact.objects.in_workspace(workspace).filter(owner__isnull=False).values("owner_id")
    )
    return (
        get_user_model()
        .objects.filter(pk__in=owner_ids)
        .order_by("first_name", "last_name", "username")
    )


def campaign_list(*, workspace: Workspace) -> QuerySet[Campaign]:
    return Campaign.objects.in_workspace(workspace).select_related("created_by")


# Choices and single objects for the CRM's forms -------------------------------


def account_list(*, workspace: Workspace) -> QuerySet[Account]:
    """Accounts of ``workspace`` by name (the account choices of the forms)."""
    return Account.objects.in_workspace(workspace).only("id", "name", "workspace_id")


def contact_choice_list(*, workspace: Workspace) -> QuerySet[Contact]:
    """Contacts of ``workspace`` by name, with only what a choice label needs."""
    return Contact.objects.in_workspace(workspace).only(
        "id", "first_name", "last_name", "email", "account_id", "workspace_id"
    )


def workspace_user_list(
    *, workspace: Workspace, include_ids: tuple[int, ...] = ()
) -> QuerySet[User]:
    """Active members of the workspace's teams, plus the users ``include_ids``, by name.

    ``include_ids`` keeps the acting user and an object's current owner
    choosable even when they belong to no team of the workspace.
    """
    member_ids = Team.members.through.objects.filter(team__workspace_id=workspace.pk).values(
        "user_id"
    )
    return (
        get_user_model()
        .objects.filter(Q(pk__in=member_ids, is_active=True) | Q(pk__in=include_ids))
        .order_by("first_name", "last_name", "username")
    )


def contact_region_segment_values(*, workspace: Workspace) -> tuple[list[str], list[str]]:
    """The regions and the segments already used by the workspace's contacts, sorted."""
    pairs = (
        Contact.objects.in_workspace(workspace)
        .order_by()
        .values_list("region", "segment")
        .distinct()
    )
    regions: set[str] = set()
    segments: set[str] = set()
    for region, segment in pairs:
        regions.add(region)
        segments.add(segment)
    return sorted(regions - {""}), sorted(segments - {""})


def deal_get(*, workspace: Workspace, pk: int) -> Deal | None:
    """One deal of ``workspace`` with its contact, account and owner, or ``None``."""
    return (
        Deal.objects.in_workspace(workspace)
        .select_related("contact", "account", "owner")
        .filter(pk=pk)
        .first()
    )


def campaign_get(*, workspace: Workspace, pk: int) -> Campaign | None:
    """One campaign of ``workspace``, or ``None``."""
    return Campaign.objects.in_workspace(workspace).filter(pk=pk).first()


# --------------------------------------------------------------------------- ownership


def owner_field_of(obj: Any) -> str | None:
    """The field naming who owns ``obj`` (a rep may change what they own)."""
    return {
        "contact": "owner_id",
        "deal": "owner_id",
        "interaction": "author_id",
        "campaign": "created_by_id",
    }.get(obj._meta.model_name)


def owns_sandbox(user: Any, workspace: Workspace | None) -> bool:
    """Is ``workspace`` ``user``'s own training sandbox (practice data, all theirs)?"""
    return (
        workspace is not None
        and workspace.kind == Workspace.Kind.SANDBOX
        and workspace.owner_id is not None
        and workspace.owner_id == getattr(user, "pk", None)
    )


def may_change(user: Any, obj: Any, *, workspace: Workspace | None = None) -> bool:
    """May ``user`` edit or delete ``obj``? Admins (staff): everything. A rep:
    what they own, and what nobody owns; in their own training sandbox (given
    as ``workspace``, the request's), everything in it. Accounts have no owner:
    a rep edits them, only admins (and a sandbox's owner) delete them (see
    :func:`may_delete`). No query."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    if workspace is not None and owns_sandbox(user, workspace):
        return bool(obj.workspace_id == workspace.pk)
    field = owner_field_of(obj)
    if field is None:
        return True
    owner_id = getattr(obj, field)
    if obj._meta.model_name == "interaction" and owner_id is None:
        # A logged email or an imported call: whoever owns the contact.
        return obj.contact.owner_id in (None, user.pk)
    return owner_id in (None, user.pk)


def may_delete(user: Any, obj: Any, *, workspace: Workspace | None = None) -> bool:
    if workspace is not None and owns_sandbox(user, workspace):
        return bool(getattr(user, "is_authenticated", False)) and obj.workspace_id == workspace.pk
    if obj._meta.model_name == "account":
        return bool(getattr(user, "is_staff", False))
    return may_change(user, obj)


def change_refusal(obj: Any, *, deleting: bool = False) -> str:
    """Why a rep may not change ``obj``: a sentence for the 403 page."""
    kind = obj._meta.verbose_name
    if deleting and obj._meta.model_name == "account":
        return "Only administrators can delete an account."
    verb = "delete" if deleting else "edit"
    return f"Only the owner of this {kind} or an administrator can {verb} it."


@dataclass(frozen=True)
class DeleteImpact:
    """What goes with a deletion: rows deleted with it, rows that lose a link."""

    deleted: dict[str, int]
    unlinked: dict[str, int]

    def sentences(self) -> list[str]:
        lines = [f"{count} {label} deleted with it" for label, count in self.deleted.items()]
        lines += [
            f"{count} {label} kept, without the link to it"
            for label, count in self.unlinked.items()
        ]
        return lines


def delete_impact(objs: list[Any]) -> DeleteImpact:
    """Count what deleting ``objs`` removes with them (any app's rows, through
    the foreign keys: interactions, orders, scores...) and what it unlinks."""
    if not objs:
        return DeleteImpact(deleted={}, unlinked={})
    collector = Collector(using="default")
    collector.collect(objs)
    top = type(objs[0])
    deleted: dict[str, int] = {}
    for model, instances in collector.data.items():
        count = len(instances) - (len(objs) if model is top else 0)
        if count > 0:
            label = str(model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural)
            deleted[label] = deleted.get(label, 0) + count
    for qs in collector.fast_deletes:
        count = qs.count()
        if count:
            model = qs.model
            label = str(model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural)
            deleted[label] = deleted.get(label, 0) + count
    unlinked: dict[str, int] = {}
    for (field, _value), batches in collector.field_updates.items():
        model = field.model
        count = 0
        for batch in batches:
            count += batch.count() if isinstance(batch, QuerySet) else len(batch)  # type: ignore[arg-type]
        if count:
            label = str(model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural)
            unlinked[label] = unlinked.get(label, 0) + count
    return DeleteImpact(deleted=deleted, unlinked=unlinked)


def audit_entries(*, workspace: Workspace, limit: int = 100) -> list[Any]:
    return list(
        AuditEntry.objects.in_workspace(workspace)
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


def interaction_get(*, workspace: Workspace, pk: int) -> Interaction | None:
    """One interaction of ``workspace`` with its contact, or ``None``."""
    return (
        Interaction.objects.in_workspace(workspace)
        .select_related("contact", "author")
        .filter(pk=pk)
        .first()
    )


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class MyTasks:
    """A user's open tasks, split by due date: overdue, today, upcoming."""

    overdue: list[Any]
    today: list[Any]
    upcoming: list[Any]

    @property
    def count(self) -> int:
        return len(self.overdue) + len(self.today) + len(self.upcoming)


def tasks_open_for(
    *, workspace: Workspace, user: Any, today: dt.date | None = None, limit: int = 200
) -> MyTasks:
    """``user``'s open tasks in ``workspace`` (one query), soonest first."""
    today = today or timezone.localdate()
    tasks = list(
        Task.objects.in_workspace(workspace)
        .filter(owner=user, done=False)
        .select_related("contact", "deal")
        .order_by("due_date", "id")[:limit]
    )
    return MyTasks(
        overdue=[t for t in tasks if t.due_date < today],
        today=[t for t in tasks if t.due_date == today],
        upcoming=[t for t in tasks if t.due_date > today],
    )


def task_get(*, workspace: Workspace, pk: int) -> Any:
    return (
        Task.objects.in_workspace(workspace).select_related("contact", "deal").filter(pk=pk).first()
    )


def tasks_due_by_owner(*, workspace: Workspace, day: dt.date) -> dict[int, list[Any]]:
    """Open tasks due on or before ``day``, grouped by owner id (the daily digest)."""
    grouped: dict[int, list[Any]] = {}
    for task in (
        Task.objects.in_workspace(workspace)
        .filter(done=False, due_date__lte=day)
        .select_related("owner", "contact", "deal")
        .order_by("owner_id", "due_date", "id")
    ):
        grouped.setdefault(task.owner_id, []).append(task)
    return grouped


# --------------------------------------------------------------------------- personal data


def contact_personal_data(contact: Contact) -> dict[str, Any]:
    """Everything stored about a person, as JSON-able data (a data subject's copy).

    The contact's own row, then every row of any app that hangs off it through
    a foreign key (interactions, orders and their lines, tasks, scores,
    sentiment, messages...), grouped by model label; deals that name the
    contact are listed too (they are kept on erasure, without the link).
    """
    collector = Collector(using="default")
    collector.collect([contact])
    related: dict[str, list[dict[str, Any]]] = {}
    for model, instances in collector.data.items():
        if model is Contact:
            continue
        rows = serializers.serialize("python", sorted(instances, key=lambda o: o.pk))
        related.setdefault(model._meta.label, []).extend(
            {"id": row["pk"], **row["fields"]} for row in rows
        )
    for qs in collector.fast_deletes:
        rows = serializers.serialize("python", qs.order_by("pk"))
        related.setdefault(qs.model._meta.label, []).extend(
            {"id": row["pk"], **row["fields"]} for row in rows
        )
    deals = serializers.serialize("python", Deal.objects.filter(contact=contact).order_by("pk"))
    if deals:
        related["crmcore.Deal"] = [{"id": row["pk"], **row["fields"]} for row in deals]
    own = serializers.serialize("python", [contact])[0]
    return {
        "contact": {"id": own["pk"], **own["fields"]},
        "related": dict(sorted(related.items())),
        "exported_at": timezone.now().isoformat(),
    }


def saved_filter_list(*, workspace: Workspace, owner: Any) -> list[SavedFilter]:
    """The contact list filters ``owner`` saved in ``workspace``, by name (one query)."""
    return list(
        SavedFilter.objects.in_workspace(workspace)
        .filter(owner=owner)
        .only("pk", "name", "query")
        .order_by("name", "pk")
    )


def campaigns_open_for_contacts(*, workspace: Workspace) -> list[tuple[int, str]]:
    """(id, name) of the campaigns contacts may still be added to (draft or
    approved), newest first (one query)."""
    return list(
        Campaign.objects.in_workspace(workspace)
        .filter(status__in=(Campaign.Status.DRAFT, Campaign.Status.APPROVED))
        .order_by("-created_at", "-id")
        .values_list("pk", "name")[:100]
    )
