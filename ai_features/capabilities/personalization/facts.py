"""Each contact's personal facts, loaded set-based for a chunk of contacts.

``facts_load`` reads a whole chunk in a fixed number of queries, whatever its
size: the contacts, their last order line, their last interaction and their
recent inbound interactions (one query each, window functions pick the rows
per contact), then the stored tones of those interactions from sentiment and
the stored next products from prediction (one query each, only where that
capability is enabled for the user).

What a capability that is off for the user would have given is listed as
unused, with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from ai_features import gate
from ai_features.facades import facade_for, id_filter
from crmcore.models import Contact, Interaction, Order, OrderLine, Workspace

CAPABILITY = "personalization"
CHANNEL_LABELS = dict(Interaction.Channel.choices)
#: Inbound interactions per contact that decide the best channel and hour.
RECENT_INBOUND = 20
#: Latest inbound interactions whose tone is read (a complaint among them: apology first).
TONE_WINDOW = 3
#: Tones that count as a complaint.
COMPLAINT_TONES = frozenset({"negative", "frustrated", "urgent"})
#: A complaint older than this, or answered since, gets no apology in a new message.
COMPLAINT_RECENT_DAYS = 30


@dataclass(frozen=True)
class Access:
    """What the user may use: personalization itself, and the capabilities it draws on."""

    personalization: bool
    prediction: bool = False
    sentiment: bool = False

    @property
    def reasons(self) -> dict[str, str]:
        """Why a capability's facts are not used, for those that are off."""
        out = {}
        if not self.prediction:
            out["prediction"] = "Prediction is not enabled for you"
        if not self.sentiment:
            out["sentiment"] = "Sentiment is not enabled for you"
        return out


def access_for(*, user, workspace: Workspace) -> Access:
    """Ask the gate once per capability (warm checks make no query)."""
    if not gate.is_enabled(CAPABILITY, user, workspace):
        return Access(personalization=False)
    return Access(
        personalization=True,
        prediction=gate.is_enabled("prediction", user, workspace),
        sentiment=gate.is_enabled("sentiment", user, workspace),
    )


@dataclass(frozen=True)
class ContactRow:
    """What a plain mail merge knows about a contact."""

    contact_id: int
    first_name: str
    last_name: str
    email: str
    company: str
    region: str
    segment: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class RecentInteraction:
    channel: str
    direction: str
    subject: str
    occurred_at: dt.datetime
    days_ago: int


@dataclass(frozen=True)
class ContactFacts:
    """A contact's history as the message builder uses it."""

    contact_id: int
    last_product: str | None = None
    last_order_days: int | None = None
    last_interaction: RecentInteraction | None = None
    inbound_count: int = 0
    best_channel: str | None = None
    best_channel_count: int = 0
    best_hour: int | None = None
    best_hour_count: int = 0
    #: From prediction (None: not enabled for the user, or no stored score).
    next_product: str | None = None
    #: Why prediction thinks they need it ("customers who bought ... often buy it next").
    next_reason: str = ""
    churn_band: str | None = None
    has_prediction: bool = False
    #: From sentiment: the tone of the latest inbound interaction read, and a complaint.
    recent_tone: str | None = None
    complaint: RecentInteraction | None = None
    complaint_tone: str | None = None
    tones_read: int = 0
    unavailable: dict[str, str] = field(default_factory=dict)


def days_between(earlier: dt.datetime, now: dt.datetime, tz: dt.tzinfo | None = None) -> int:
    """Calendar days from ``earlier`` to ``now`` in the current time zone."""
    tz = tz or timezone.get_current_timezone()
    return max(0, (now.astimezone(tz).date() - earlier.astimezone(tz).date()).days)


def days_phrase(days: int) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"{days} days ago"


def contact_rows(*, workspace: Workspace, contact_ids: list[int]) -> dict[int, ContactRow]:
    """The mail-merge fields of a chunk of contacts (one query)."""
    if not contact_ids:
        return {}
    wanted = set(contact_ids)
    rows = (
        Contact.objects.in_workspace(workspace)
        .filter(**id_filter("pk", contact_ids))
        .values_list("pk", "first_name", "last_name", "email", "account__name", "region", "segment")
    )
    return {
        pk: ContactRow(
            contact_id=pk,
            first_name=first,
            last_name=last,
            email=email,
            company=company or "",
            region=region,
            segment=segment,
        )
        for pk, first, last, email, company, region, segment in rows
        if pk in wanted
    }


def _ranked(queryset, *, partition: str, order: list, limit: int):
    return queryset.annotate(
        rank=Window(RowNumber(), partition_by=[F(partition)], order_by=order)
    ).filter(rank__lte=limit)


def _last_products(*, workspace: Workspace, contact_ids: list[int]) -> dict[int, tuple]:
    """contact id -> (product name, ordered_at) of their latest paid or placed order."""
    # Scoped through the order too, so that the contacts' lines are read
    # through the orders' (workspace, contact) index, not every line of the workspace.
    lines = OrderLine.objects.filter(
        workspace=workspace,
        order__workspace=workspace,
        **id_filter("order__contact_id", contact_ids),
        order__status__in=[Order.Status.PAID, Order.Status.PLACED],
    )
    lines = gate.profiled(lines, "order__contact__")  # no facts about objectors
    rows = _ranked(
        lines,
        partition="order__contact_id",
        order=[F("order__ordered_at").desc(), F("order_id").desc(), F("id").asc()],
        limit=1,
    ).values_list("order__contact_id", "product__name", "order__ordered_at")
    return {contact_id: (name, ordered_at) for contact_id, name, ordered_at in rows}


def _interactions(
    *, workspace: Workspace, contact_ids: list[int], inbound_only: bool, limit: int
) -> dict[int, list[tuple]]:
    qs = Interaction.objects.filter(
        workspace=workspace, **id_filter("contact_id", contact_ids)
    ).exclude(channel=Interaction.Channel.NOTE)
    qs = gate.profiled(qs, "contact__")  # no facts about objectors
    if inbound_only:
        qs = qs.filter(direction=Interaction.Direction.INBOUND)
    rows = (
        _ranked(
            qs,
            partition="contact_id",
            order=[F("occurred_at").desc(), F("id").desc()],
            limit=limit,
        )
        .order_by("contact_id", "rank")
        .values_list("contact_id", "pk", "channel", "direction", "subject", "occurred_at")
    )
    out: dict[int, list[tuple]] = {}
    for contact_id, *rest in rows:
        out.setdefault(contact_id, []).append(tuple(rest))
    return out


def _next_needs(*, workspace: Workspace, contact_ids: list[int]) -> dict[int, Any]:
    """contact id -> their next needs, best first, through prediction's facade (one query)."""
    prediction = facade_for("prediction", workspace=workspace)
    if not prediction.available:
        return {}
    return prediction.next_needs(workspace_id=workspace.pk, contact_ids=contact_ids)


def _tones(*, workspace: Workspace, interaction_ids: list[int]) -> dict[int, str]:
    """interaction id -> stored tone, through sentiment's facade (one query)."""
    sentiment = facade_for("sentiment", workspace=workspace)
    if not sentiment.available:
        return {}
    return sentiment.interaction_tones(workspace_id=workspace.pk, interaction_ids=interaction_ids)


def _most_common(values: list) -> tuple:
    """(value, count) of the most frequent value; ties go to the most recent (listed first)."""
    if not values:
        return None, 0
    counts = Counter(values)
    best = max(counts.values())
    value = next(v for v in values if counts[v] == best)
    return value, best


def facts_load(
    *,
    workspace: Workspace,
    contact_ids: list[int],
    access: Access,
    now: dt.datetime | None = None,
) -> dict[int, ContactFacts]:
    """Personal facts of a chunk of contacts: 3 queries (+1 with sentiment, +1 with prediction)."""
    if not access.personalization or not contact_ids:
        return {}
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    products = _last_products(workspace=workspace, contact_ids=contact_ids)
    last = _interactions(workspace=workspace, contact_ids=contact_ids, inbound_only=False, limit=1)
    inbound = _interactions(
        workspace=workspace,
        contact_ids=contact_ids,
        inbound_only=True,
        limit=RECENT_INBOUND,
    )
    tones: dict[int, str] = {}
    if access.sentiment:
        ids = [row[0] for rows in inbound.values() for row in rows[:TONE_WINDOW]]
        tones = _tones(workspace=workspace, interaction_ids=ids) if ids else {}
    needs = _next_needs(workspace=workspace, contact_ids=contact_ids) if access.prediction else {}

    def recent(row: tuple) -> RecentInteraction:
        _, channel, direction, subject, occurred_at = row
        return RecentInteraction(
            channel=channel,
            direction=direction,
            subject=subject,
            occurred_at=occurred_at,
            days_ago=days_between(occurred_at, now, tz),
        )

    out = {}
    for contact_id in contact_ids:
        product = products.get(contact_id)
        rows = inbound.get(contact_id, [])
        channel, channel_count = _most_common([r[1] for r in rows])
        hour, hour_count = _most_common([r[4].astimezone(tz).hour for r in rows])
        read = [(r, tones[r[0]]) for r in rows[:TONE_WINDOW] if r[0] in tones]
        complaint = next(((r, tone) for r, tone in read if tone in COMPLAINT_TONES), None)
        last_rows = last.get(contact_id)
        if complaint is not None and (
            days_between(complaint[0][4], now, tz) > COMPLAINT_RECENT_DAYS
            or (
                last_rows
                and last_rows[0][2] == Interaction.Direction.OUTBOUND
                and last_rows[0][4] > complaint[0][4]
            )
        ):
            complaint = None  # old, or answered since: no apology now
        need = needs[contact_id][0] if needs.get(contact_id) else None
        unavailable = dict(access.reasons)
        if access.prediction and need is None:
            unavailable["prediction"] = "no next need known for this contact yet"
        if access.sentiment and not read:
            unavailable["sentiment"] = "no analysed inbound message"
        out[contact_id] = ContactFacts(
            contact_id=contact_id,
            last_product=product[0] if product else None,
            last_order_days=days_between(product[1], now, tz) if product else None,
            last_interaction=recent(last_rows[0]) if last_rows else None,
            inbound_count=len(rows),
            best_channel=channel,
            best_channel_count=channel_count,
            best_hour=hour,
            best_hour_count=hour_count,
            next_product=need.product if need else None,
            next_reason=need.reason if need else "",
            has_prediction=need is not None,
            recent_tone=read[0][1] if read else None,
            complaint=recent(complaint[0]) if complaint else None,
            complaint_tone=complaint[1] if complaint else None,
            tones_read=len(read),
            unavailable=unavailable,
        )
    return out
