"""Churn features, computed set-based as of a cutoff.

Every feature of a contact is taken from rows strictly before ``as_of`` with a
few aggregate queries for a whole range of contacts (never one query per
contact). Training uses a cutoff in the past (``HORIZON_DAYS`` ago) and the
label of today, so nothing that happened around the churn itself (a stage
change, an update timestamp, a cancellation ticket) leaks into the features.

``FeatureSpec`` turns these raw values into the model matrix: fixed numeric
features, median-imputed numeric attributes (with a missing indicator) and
one-hot categories capped at ``MAX_CATEGORIES`` per column.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from django.apps import apps
from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum

from ai_features.capabilities.prediction.conf import app_settings
from crmcore.db import driver_rows
from crmcore.models import Contact, Deal, Interaction, Order, Workspace

#: Training snapshot: features as of this many days ago, label = stage today.
HORIZON_DAYS = 30
#: Recency is capped here (and a contact with no order at all gets it).
MAX_DAYS = 730.0
CHANNELS = ("email", "call", "meeting", "chat", "ticket")
BASE_FEATURES = [
    "days_since_last_order",
    "orders_total",
    "orders_90d",
    "orders_prev_90d",
    "order_trend",
    "spend_total",
    "spend_90d",
    "avg_order_value",
    "refunds",
    "days_since_last_interaction",
    *(f"{channel}s_90d" for channel in CHANNELS),
    "tickets_30d",
    "negative_30d",
    "sentiment_90d",
    "open_deals",
    "won_deals",
    "lost_deals",
    "tenure_days",
]
CATEGORICAL_FIELDS = ("region", "segment")
#: Attribute keys that name the label itself are never features.
LABEL_LIKE = re.compile(r"churn|lifecycle", re.IGNORECASE)
OTHER = "(other)"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


# Rows read with crmcore.db.driver_rows: driver values (datetimes as the
# driver returns them, read with as_datetime; sums as numbers or text).


class _ContactRow(NamedTuple):
    pk: int
    lifecycle_stage: str
    region: str
    segment: str
    attributes: Any  # a dict, or JSON text on SQLite
    created_at: Any


class _OrderAggregates(NamedTuple):
    contact_id: int
    last: Any
    first: Any
    n: int
    n90: int
    nprev: int
    spend: Any
    spend90: Any
    refunds: int


class _InteractionAggregates(NamedTuple):
    contact_id: int
    last: Any
    first: Any
    tickets30: int
    # One count per channel of CHANNELS, in that order.
    c_email: int
    c_call: int
    c_meeting: int
    c_chat: int
    c_ticket: int


@dataclass
class RawFeatures:
    """Raw feature values of a list of contacts, column by column."""

    contact_ids: list[int]
    stages: list[str]
    base: np.ndarray  # (n, len(BASE_FEATURES))
    categorical: dict[str, list[str]]  # region, segment
    attributes: list[dict[str, Any]]
    first_seen: list[dt.datetime | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.contact_ids)

    def subset(self, index: np.ndarray) -> RawFeatures:
        idx = [int(i) for i in index]
        return RawFeatures(
            contact_ids=[self.contact_ids[i] for i in idx],
            stages=[self.stages[i] for i in idx],
            base=self.base[idx],
            categorical={k: [v[i] for i in idx] for k, v in self.categorical.items()},
            attributes=[self.attributes[i] for i in idx],
        )


def contact_rows(
    *, workspace: Workspace, stages: tuple[str, ...], id_range: tuple[int, int] | None = None
) -> list[dict[str, Any]]:
    qs = Contact.objects.in_workspace(workspace).filter(lifecycle_stage__in=stages)
    if id_range is not None:
        qs = qs.filter(pk__gte=id_range[0], pk__lte=id_range[1])
    qs = qs.order_by("pk").values(*_ContactRow._fields)
    rows = []
    for pk, stage, region, segment, attributes, created_at in driver_rows(qs, _ContactRow):
        if isinstance(attributes, str):
            attributes = json.loads(attributes)
        rows.append(
            {
                "pk": pk,
                "lifecycle_stage": stage,
                "region": region,
                "segment": segment,
                "attributes": attributes,
                "created_at": as_datetime(created_at),
            }
        )
    return rows


def as_datetime(value: Any) -> dt.datetime | None:
    """An aware datetime from a raw database value.

    PostgreSQL returns aware datetimes; SQLite stores UTC without an offset and
    returns a naive datetime for a column, text for an aggregate of one.
    """
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _days(delta: dt.timedelta) -> float:
    return delta.total_seconds() / 86400.0


_tables_present: dict[tuple[str, str], bool] = {}


def sentiment_model():
    """The sentiment app's per-interaction polarity model, or None where it is absent."""
    if not apps.is_installed("ai_features.capabilities.sentiment"):
        return None
    try:
        model = apps.get_model("ai_sentiment", "InteractionSentiment")
    except LookupError:
        return None
    field_names = {f.name for f in model._meta.get_fields()}
    if not {"interaction", "polarity"} <= field_names:
        return None
    key = (connection.alias, model._meta.db_table)
    if key not in _tables_present:  # checked once per process
        _tables_present[key] = model._meta.db_table in connection.introspection.table_names()
    return model if _tables_present[key] else None


def _sentiment_aggregates(
    *, workspace: Workspace, as_of: dt.datetime, id_range: tuple[int, int] | None
) -> dict[int, tuple[int, float]]:
    """Negative interactions in 30 days and mean polarity in 90, where sentiment has run.

    A soft lookup: when the sentiment app (``ai_sentiment``) is not installed or
    has no per-interaction polarity table, every contact gets (0, 0.0).
    """
    model = sentiment_model()
    if model is None:
        return {}
    qs = model.objects.filter(
        interaction__workspace_id=workspace.pk,
        interaction__occurred_at__lt=as_of,
        interaction__occurred_at__gte=as_of - dt.timedelta(days=90),
    )
    if id_range is not None:
        qs = qs.filter(
            interaction__contact_id__gte=id_range[0], interaction__contact_id__lte=id_range[1]
        )
    from django.db.models import Avg

    month = Q(interaction__occurred_at__gte=as_of - dt.timedelta(days=30))
    rows = qs.values("interaction__contact_id").annotate(
        negative=Count("pk", filter=month & Q(polarity__lt=-0.1)), mean=Avg("polarity")
    )
    return {r["interaction__contact_id"]: (r["negative"], float(r["mean"] or 0.0)) for r in rows}


def extract_raw(
    *,
    workspace: Workspace,
    as_of: dt.datetime,
    stages: tuple[str, ...],
    id_range: tuple[int, int] | None = None,
) -> RawFeatures:
    """Raw features of the workspace's contacts in ``stages`` (optionally an id range)."""
    contacts = contact_rows(workspace=workspace, stages=stages, id_range=id_range)
    index = {row["pk"]: i for i, row in enumerate(contacts)}
    n = len(contacts)
    base = np.zeros((n, len(BASE_FEATURES)), dtype=np.float64)
    col = {name: i for i, name in enumerate(BASE_FEATURES)}
    base[:, col["days_since_last_order"]] = MAX_DAYS
    base[:, col["days_since_last_interaction"]] = MAX_DAYS
    first_seen: list[dt.datetime | None] = [row["created_at"] for row in contacts]
    if n == 0:
        return RawFeatures([], [], base, {k: [] for k in CATEGORICAL_FIELDS}, [], [])

    def scoped(qs):
        qs = qs.filter(workspace_id=workspace.pk)
        if id_range is not None:
            qs = qs.filter(contact_id__gte=id_range[0], contact_id__lte=id_range[1])
        return qs

    d30, d90, d180 = (as_of - dt.timedelta(days=d) for d in (30, 90, 180))
    valid = ~Q(status=Order.Status.CANCELLED)
    orders = (
        scoped(Order.objects.filter(ordered_at__lt=as_of))
        .values("contact_id")
        .annotate(
            last=Max("ordered_at", filter=valid),
            first=Min("ordered_at", filter=valid),
            n=Count("pk", filter=valid),
            n90=Count("pk", filter=valid & Q(ordered_at__gte=d90)),
            nprev=Count("pk", filter=valid & Q(ordered_at__gte=d180, ordered_at__lt=d90)),
            spend=Sum("total", filter=valid),
            spend90=Sum("total", filter=valid & Q(ordered_at__gte=d90)),
            refunds=Count("pk", filter=Q(status=Order.Status.REFUNDED)),
        )
        .order_by()
    )
    for contact_id, last, first, n, n90, nprev, spend, spend90, refunds in driver_rows(
        orders, _OrderAggregates
    ):
        i = index.get(contact_id)
        if i is None or not n:
            continue
        row = base[i]
        row[col["days_since_last_order"]] = min(MAX_DAYS, _days(as_of - as_datetime(last)))
        row[col["orders_total"]] = n
        row[col["orders_90d"]] = n90
        row[col["orders_prev_90d"]] = nprev
        row[col["order_trend"]] = n90 - nprev
        spend = float(spend or 0)
        row[col["spend_total"]] = spend
        row[col["spend_90d"]] = float(spend90 or 0)
        row[col["avg_order_value"]] = spend / n
        row[col["refunds"]] = refunds
        first = as_datetime(first)
        if first is not None and (first_seen[i] is None or first < first_seen[i]):
            first_seen[i] = first

    channel_counts = {
        f"c_{channel}": Count("pk", filter=Q(channel=channel, occurred_at__gte=d90))
        for channel in CHANNELS
    }
    interactions = (
        scoped(Interaction.objects.filter(occurred_at__lt=as_of))
        .values("contact_id")
        .annotate(
            last=Max("occurred_at"),
            first=Min("occurred_at"),
            tickets30=Count("pk", filter=Q(channel="ticket", occurred_at__gte=d30)),
            **channel_counts,
        )
        .order_by()
    )
    channel_cols = [col[f"{channel}s_90d"] for channel in CHANNELS]
    for contact_id, last, first, tickets30, *counts in driver_rows(
        interactions, _InteractionAggregates
    ):
        i = index.get(contact_id)
        if i is None:
            continue
        row = base[i]
        row[col["days_since_last_interaction"]] = min(MAX_DAYS, _days(as_of - as_datetime(last)))
        row[channel_cols] = counts
        row[col["tickets_30d"]] = tickets30
        first = as_datetime(first)
        if first is not None and (first_seen[i] is None or first < first_seen[i]):
            first_seen[i] = first

    for contact_id, (negative, mean) in _sentiment_aggregates(
        workspace=workspace, as_of=as_of, id_range=id_range
    ).items():
        i = index.get(contact_id)
        if i is not None:
            base[i, col["negative_30d"]] = negative
            base[i, col["sentiment_90d"]] = mean

    closed_before = Q(closed_at__lt=as_of)
    deals = (
        scoped(Deal.objects.filter(created_at__lt=as_of))
        .values("contact_id")
        .annotate(
            open=Count("pk", filter=Q(closed_at__isnull=True) | Q(closed_at__gte=as_of)),
            won=Count("pk", filter=closed_before & Q(stage=Deal.Stage.WON)),
            lost=Count("pk", filter=closed_before & Q(stage=Deal.Stage.LOST)),
        )
        .order_by()
    )
    for r in deals:
        i = index.get(r["contact_id"])
        if i is None:
            continue
        base[i, col["open_deals"]] = r["open"]
        base[i, col["won_deals"]] = r["won"]
        base[i, col["lost_deals"]] = r["lost"]

    tenure = col["tenure_days"]
    for i, seen in enumerate(first_seen):
        base[i, tenure] = min(MAX_DAYS * 5, max(0.0, _days(as_of - seen))) if seen else 0.0

    return RawFeatures(
        contact_ids=[row["pk"] for row in contacts],
        stages=[row["lifecycle_stage"] for row in contacts],
        base=base,
        categorical={k: [row[k] or "" for row in contacts] for k in CATEGORICAL_FIELDS},
        attributes=[
            row["attributes"] if isinstance(row["attributes"], dict) else {} for row in contacts
        ],
        first_seen=first_seen,
    )


def _as_number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        if not text:
            return None
        if ISO_DATE.match(text):  # a date column becomes its day number
            try:
                return float(dt.date.fromisoformat(text[:10]).toordinal())
            except ValueError:
                return None
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _as_category(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip()
    return text or None


@dataclass
class FeatureSpec:
    """How raw features become the model matrix; fitted on the training contacts."""

    numeric_attributes: dict[str, float] = field(default_factory=dict)  # key -> median
    missing_indicators: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)  # column -> kept values
    other_columns: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)  # attribute key -> why
    names: list[str] = field(default_factory=list)

    @classmethod
    def fit(cls, raw: RawFeatures) -> FeatureSpec:
        spec = cls()
        max_categories = app_settings.MAX_CATEGORIES
        n = len(raw)
        values_by_key: dict[str, list[Any]] = {}
        for attrs in raw.attributes:
            for key, value in attrs.items():
                values_by_key.setdefault(str(key), []).append(value)
        columns: dict[str, list[str]] = {f: list(raw.categorical[f]) for f in CATEGORICAL_FIELDS}
        for key in sorted(values_by_key):
            values = [v for v in values_by_key[key] if v not in (None, "")]
            if LABEL_LIKE.search(key):
                spec.excluded[key] = "names the label"
                continue
            if not values:
                continue
            numbers = [_as_number(v) for v in values]
            present = [x for x in numbers if x is not None]
            if len(present) >= 0.95 * len(values):
                if len(set(present)) < 2:
                    continue
                spec.numeric_attributes[key] = float(np.median(present))
                if len(values) < n:
                    spec.missing_indicators.append(key)
                continue
            categories = [_as_category(v) for v in values]
            distinct = {c for c in categories if c is not None}
            if len(distinct) > max_categories and len(distinct) >= 0.9 * len(categories):
                spec.excluded[key] = "an identifier or free text (too many distinct values)"
                continue
            columns[f"attr:{key}"] = [_as_category(a.get(key)) or "" for a in raw.attributes]
        for column, values in columns.items():
            counts = Counter(v for v in values if v)
            if len(counts) < 2 and not (len(counts) == 1 and any(not v for v in values)):
                continue
            kept = [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
            spec.categories[column] = sorted(kept[:max_categories])
            if len(kept) > max_categories:
                spec.other_columns.append(column)
        names = list(BASE_FEATURES)
        names += [f"attr:{key}" for key in spec.numeric_attributes]
        names += [f"attr:{key} missing" for key in spec.missing_indicators]
        for column, kept in spec.categories.items():
            names += [f"{column}={value}" for value in kept]
            if column in spec.other_columns:
                names.append(f"{column}={OTHER}")
        spec.names = names
        return spec

    def transform(self, raw: RawFeatures) -> np.ndarray:
        """The model matrix (one row per contact, one column per name)."""
        n = len(raw)
        blocks = [raw.base]
        for key, median in self.numeric_attributes.items():
            values = [_as_number(a.get(key)) for a in raw.attributes]
            blocks.append(
                np.array([median if v is None else v for v in values], dtype=np.float64)[:, None]
            )
        for key in self.missing_indicators:
            flags = [float(_as_number(a.get(key)) is None) for a in raw.attributes]
            blocks.append(np.array(flags, dtype=np.float64)[:, None])
        for column, kept in self.categories.items():
            if column.startswith("attr:"):
                key = column[5:]
                values = [_as_category(a.get(key)) or "" for a in raw.attributes]
            else:
                values = raw.categorical[column]
            position = {value: j for j, value in enumerate(kept)}
            other = column in self.other_columns
            width = len(kept) + (1 if other else 0)
            block = np.zeros((n, width), dtype=np.float64)
            for i, value in enumerate(values):
                j = position.get(value)
                if j is not None:
                    block[i, j] = 1.0
                elif value and other:
                    block[i, width - 1] = 1.0
            blocks.append(block)
        return np.hstack(blocks)
