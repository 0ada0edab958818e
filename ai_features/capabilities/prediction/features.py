"""Churn features, computed set-based as of a cutoff.

Every feature of a contact is taken from rows strictly before ``as_of`` with a
few aggregate queries for a whole range of contacts (never one query per
contact). Training uses a cutoff in the past (``HORIZON_DAYS`` ago) and the
label of today, so nothing that happened around the churn itself (a stage
change, an update timestamp, a cancellation ticket) leaks into the features.

``FeatureSpec`` turns these raw values into the model matrix: fixed numeric
features, imported attributes typed from their values (numbers, dates as ages
in days, yes/no; median-imputed with a missing indicator), one-hot categories
capped at ``MAX_CATEGORIES`` per column, and free text left out. ``DIRECTIONS``
says which way each built-in feature moves the risk, where that is known.
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
from django.db.models import Count, Max, Min, Q, Sum

from ai_features.capabilities.prediction.conf import app_settings
from ai_features.facades import facade_for
from crmcore.db import driver_rows
from crmcore.integrations import selectors as integration_selectors
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
    #: The cutoff the features are taken at: dates in attributes become ages from it.
    as_of: dt.datetime | None = None
    #: Attribute key -> (type, unit) recorded by imports; types the values are read as.
    attribute_types: dict[str, tuple[str, str]] = field(default_factory=dict)

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
            first_seen=[self.first_seen[i] for i in idx] if self.first_seen else [],
            as_of=self.as_of,
            attribute_types=self.attribute_types,
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


def _sentiment_aggregates(
    *, workspace: Workspace, as_of: dt.datetime, id_range: tuple[int, int] | None
) -> dict[int, tuple[int, float]]:
    """Negative interactions in 30 days and mean polarity in 90, through sentiment's facade.

    Where sentiment is absent or may not run for the workspace, every contact
    gets (0, 0.0).
    """
    sentiment = facade_for("sentiment", workspace=workspace)
    if not sentiment.available:
        return {}
    summaries = sentiment.tone_summaries(workspace_id=workspace.pk, as_of=as_of, id_range=id_range)
    return {pk: (t.negative_30d, t.mean_polarity_90d) for pk, t in summaries.items()}


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
        return RawFeatures([], [], base, {k: [] for k in CATEGORICAL_FIELDS}, [], [], as_of)

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
        as_of=as_of,
        attribute_types=integration_selectors.contact_attribute_types(workspace=workspace),
    )


#: Attribute values read as yes/no.
YES = frozenset({"yes", "y", "true", "t"})
NO = frozenset({"no", "n", "false", "f"})
#: A number as exports write it: "1,234.50", "$ 99", "12%".
NUMBER = re.compile(r"^[+-]?[$€£¥]?\s*[+-]?(\d[\d,]*\.?\d*|\.\d+)\s*%?$")
#: Date attributes that say when the customer started: they are tenure, counted once.
TENURE_DATE = re.compile(
    r"(customer|member|client|subscriber|user)[\s_-]*since|sign[\s_-]*up|joined|"
    r"^since$|^start(ed)?([\s_-]*(date|on|at))?$|first[\s_-]*(order|purchase)",
    re.IGNORECASE,
)
#: Numeric tenure attributes and their unit in days (a bare "tenure" is in months,
#: as billing exports give it).
TENURE_NUMBER = re.compile(r"^tenure[\s_(-]*(days?|months?|years?)?\)?$", re.IGNORECASE)
DAYS_PER_UNIT = {"day": 1.0, "month": 30.4375, "year": 365.25}
#: How long ago a start date was is capped like tenure.
MAX_TENURE_DAYS = MAX_DAYS * 5

#: The direction each built-in feature moves the churn risk as its value grows,
#: where common sense knows it: +1 raises it, -1 lowers it. Training constrains
#: these coefficients to that sign, so a factor's words never contradict its
#: contribution ("Nothing spent in the last 90 days" can only raise the risk).
#: Features left out (contact counts per channel, average order value, imported
#: attributes) may go either way; their words do not claim a direction.
DIRECTIONS: dict[str, int] = {
    "days_since_last_order": +1,
    "orders_total": -1,
    "orders_90d": -1,
    "orders_prev_90d": -1,
    "order_trend": -1,
    "spend_total": -1,
    "spend_90d": -1,
    "refunds": +1,
    "days_since_last_interaction": +1,
    "tickets_90d": +1,
    "tickets_30d": +1,
    "negative_30d": +1,
    "sentiment_90d": -1,
    "open_deals": -1,
    "won_deals": -1,
    "lost_deals": +1,
    "tenure_days": -1,
}


def _as_number(value: Any) -> float | None:
    """A number, or a date's day number (how models trained before typed attributes read dates)."""
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


def as_plain_number(value: Any) -> float | None:
    """A number written as a number ("1,234.50", "$99", "12%", 7); not a date or a yes/no."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str) or not NUMBER.match(value.strip()):
        return None
    text = re.sub(r"[\s,$€£¥%]", "", value)
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def as_date(value: Any) -> dt.date | None:
    """An ISO date ("2024-09-12", or the date of an ISO datetime), else None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not ISO_DATE.match(value.strip()):
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def as_boolean(value: Any) -> float | None:
    """1.0 for yes/true, 0.0 for no/false, else None."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in YES:
            return 1.0
        if text in NO:
            return 0.0
    return None


def _as_category(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip()
    return text or None


def _age_days(value: Any, as_of: dt.datetime | None) -> float | None:
    """Days from a date attribute to ``as_of`` (0 for a date after it), or None."""
    day = as_date(value)
    if day is None:
        return None
    today = (as_of or dt.datetime.now(dt.UTC)).date()
    return float(min(MAX_TENURE_DAYS, max(0, (today - day).days)))


def attribute_type(values: list[Any], *, max_categories: int) -> str:
    """The type of an attribute from its non-empty values.

    ``boolean`` (yes/no), ``date``, ``number``, ``category`` (a few repeated
    values) or ``text`` (free text or identifiers: left out). A type needs
    95% of the values to read as it.
    """
    need = 0.95 * len(values)
    if sum(as_boolean(v) is not None for v in values) >= need:
        return "boolean"
    if sum(as_date(v) is not None for v in values) >= need:
        return "date"
    if sum(as_plain_number(v) is not None for v in values) >= need:
        return "number"
    distinct = {_as_category(v) for v in values} - {None}
    if len(distinct) > max_categories and len(distinct) >= 0.9 * len(values):
        return "text"
    if len(values) >= 3 and len(distinct) == len(values):  # no value repeats: nothing to learn
        return "text"
    return "category"


def tenure_unit(key: str, kind: str, unit: str = "") -> float | None:
    """Days per unit of an attribute that says how long the customer has been one
    (0.0 for a start date), or None for any other attribute.

    A number's unit comes from its name ("tenure_years"), else from the unit its
    import recorded ("12 months"), else months, as billing exports count it.
    """
    if kind == "date" and TENURE_DATE.search(key):
        return 0.0
    match = TENURE_NUMBER.match(key.strip()) if kind == "number" else None
    if match is None:
        return None
    named = (match.group(1) or unit.strip().lower() or "month").rstrip("s")
    return DAYS_PER_UNIT.get(named)


def _attribute_reader(kind: str, as_of: dt.datetime | None):
    if kind == "boolean":
        return as_boolean
    if kind == "date":
        return lambda value: _age_days(value, as_of)
    if kind == "number":
        return as_plain_number
    return _as_number  # models trained before attributes were typed


def attribute_feature_name(key: str, kind: str) -> str:
    """The model's column name of a typed attribute."""
    if kind == "boolean":
        return f"attr:{key} (yes/no)"
    if kind == "date":
        return f"attr:{key} (days ago)"
    return f"attr:{key}"


@dataclass
class FeatureSpec:
    """How raw features become the model matrix; fitted on the training contacts.

    Imported attributes are typed from their values: numbers stay numbers,
    dates become their age in days at the cutoff, yes/no become 1/0 (each
    median-imputed, with a missing indicator where some contacts lack it),
    a few repeated values become one-hot categories capped at
    ``MAX_CATEGORIES``, and free text is left out. An attribute that says when
    the customer started (``customer_since``, ``tenure_months``) is folded into
    ``tenure_days`` (the earlier start wins), so tenure is counted once.
    """

    numeric_attributes: dict[str, float] = field(default_factory=dict)  # key -> median
    missing_indicators: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)  # column -> kept values
    other_columns: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)  # attribute key -> why
    names: list[str] = field(default_factory=list)
    #: key -> "number", "boolean", "date", "category", "text" (every attribute seen)
    attribute_types: dict[str, str] = field(default_factory=dict)
    #: key -> days per unit (0.0: a start date) of attributes counted as tenure
    tenure_sources: dict[str, float] = field(default_factory=dict)

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
            recorded, recorded_unit = raw.attribute_types.get(key, ("", ""))
            kind = recorded or attribute_type(values, max_categories=max_categories)
            spec.attribute_types[key] = kind
            if kind == "text":
                spec.excluded[key] = (
                    "free text (its import says so)"
                    if recorded
                    else "an identifier or free text (too many distinct values)"
                )
                continue
            if kind == "category":
                columns[f"attr:{key}"] = [_as_category(a.get(key)) or "" for a in raw.attributes]
                continue
            unit = tenure_unit(key, kind, recorded_unit)
            if unit is not None:
                spec.tenure_sources[key] = unit
                continue
            read = _attribute_reader(kind, raw.as_of)
            present = [x for x in (read(v) for v in values) if x is not None]
            if len(set(present)) < 2:
                continue
            spec.numeric_attributes[key] = float(np.median(present))
            if len(values) < n or len(present) < len(values):
                spec.missing_indicators.append(key)
        for column, values in columns.items():
            counts = Counter(v for v in values if v)
            if len(counts) < 2 and not (len(counts) == 1 and any(not v for v in values)):
                continue
            kept = [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
            spec.categories[column] = sorted(kept[:max_categories])
            if len(kept) > max_categories:
                spec.other_columns.append(column)
        names = list(BASE_FEATURES)
        names += [
            attribute_feature_name(key, spec.attribute_types[key])
            for key in spec.numeric_attributes
        ]
        names += [f"attr:{key} missing" for key in spec.missing_indicators]
        for column, kept in spec.categories.items():
            names += [f"{column}={value}" for value in kept]
            if column in spec.other_columns:
                names.append(f"{column}={OTHER}")
        spec.names = names
        return spec

    def _tenure(self, raw: RawFeatures) -> np.ndarray:
        """Tenure in days: the built-in one, or an earlier start an attribute gives."""
        tenure = raw.base[:, BASE_FEATURES.index("tenure_days")].copy()
        for key, unit in getattr(self, "tenure_sources", {}).items():
            for i, attrs in enumerate(raw.attributes):
                value = attrs.get(key)
                if unit == 0.0:
                    days = _age_days(value, raw.as_of)
                else:
                    number = as_plain_number(value)
                    days = None if number is None else number * unit
                if days is not None and days > tenure[i]:
                    tenure[i] = min(MAX_TENURE_DAYS, days)
        return tenure

    def transform(self, raw: RawFeatures) -> np.ndarray:
        """The model matrix (one row per contact, one column per name)."""
        n = len(raw)
        types = getattr(self, "attribute_types", {})
        base = raw.base
        if getattr(self, "tenure_sources", None):
            base = base.copy()
            base[:, BASE_FEATURES.index("tenure_days")] = self._tenure(raw)
        blocks = [base]
        for key, median in self.numeric_attributes.items():
            read = _attribute_reader(types.get(key, ""), raw.as_of)
            values = [read(a.get(key)) for a in raw.attributes]
            blocks.append(
                np.array([median if v is None else v for v in values], dtype=np.float64)[:, None]
            )
        for key in self.missing_indicators:
            read = _attribute_reader(types.get(key, ""), raw.as_of)
            flags = [float(read(a.get(key)) is None) for a in raw.attributes]
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

    def directions(self) -> np.ndarray:
        """Each column's known direction (+1, -1) or 0 where the data decides."""
        return np.array([DIRECTIONS.get(name, 0) for name in self.names], dtype=np.int8)
