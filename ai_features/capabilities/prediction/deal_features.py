"""Win features of deals, each computed as of its own moment.

An open deal is described as of now; a closed deal, for training, as of a
moment inside its open life (``snapshot_time``: between 30% and 90% of the
way from its creation to its close, fixed by its dates), never at its close. Every
feature reads only rows strictly before that moment: the stage the deal was in
then and since when (its stage history), the interactions with its contact,
the contact's tone (through sentiment's facade), the owner's and the account's
deals closed before then, and the contact's orders before then. So nothing
that happened around the outcome leaks into the features.

A few queries per chunk of deals, never one per deal.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Min

from ai_features.facades import facade_for, id_filter
from crmcore.models import Deal, DealStageChange, Interaction, OrderLine, Workspace

OPEN_STAGES: tuple[str, ...] = tuple(str(s) for s in Deal.OPEN_STAGES)
NUMERIC_FEATURES = [
    "days_in_stage",
    "deal_age_days",
    "amount_vs_usual",
    "discount_percent",
    "deal_touches",
    "touches_14d",
    "touches_total",
    "days_since_touch",
    "tone_90d",
    "negative_30d",
    "owner_win_rate",
    "account_won_deals",
    "account_lost_deals",
    "products_owned",
]
STAGE_FEATURES = [f"stage={stage}" for stage in OPEN_STAGES]
WIN_FEATURES = NUMERIC_FEATURES + STAGE_FEATURES
#: Which way each feature moves the chance of winning where that is known;
#: the fit keeps these signs so that no factor's words contradict its number.
WIN_DIRECTIONS = {
    "days_in_stage": -1,
    "deal_age_days": -1,
    "amount_vs_usual": -1,
    "discount_percent": -1,
    "deal_touches": +1,
    "touches_14d": +1,
    "days_since_touch": -1,
    "tone_90d": +1,
    "negative_30d": -1,
    "owner_win_rate": +1,
    "account_won_deals": +1,
    "account_lost_deals": -1,
}
#: Recency is capped here (a contact never contacted gets it).
MAX_DAYS = 365.0
NEGATIVE_POLARITY = -0.1


@dataclass
class DealRaw:
    """Win features of a list of deals, as of each deal's own moment."""

    deal_ids: list[int]
    times: list[dt.datetime]
    stages: list[str]  # the stage each deal was in at its moment
    matrix: np.ndarray  # (n, len(WIN_FEATURES))
    won: np.ndarray  # (n,) 1 won, 0 lost, -1 open

    def __len__(self) -> int:
        return len(self.deal_ids)

    def subset(self, index: np.ndarray) -> DealRaw:
        idx = [int(i) for i in index]
        return DealRaw(
            deal_ids=[self.deal_ids[i] for i in idx],
            times=[self.times[i] for i in idx],
            stages=[self.stages[i] for i in idx],
            matrix=self.matrix[idx],
            won=self.won[idx],
        )


def snapshot_time(created: dt.datetime, closed: dt.datetime) -> dt.datetime:
    """A moment inside a closed deal's open life: 30-90% of the way, fixed by its dates
    (the same deal gets the same moment in every run and every copy of the data)."""
    key = f"{_aware(created).isoformat()}|{_aware(closed).isoformat()}"
    digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
    u = 0.3 + 0.6 * int.from_bytes(digest, "big") / 2**32
    return created + (closed - created) * u


def _days(delta: dt.timedelta) -> float:
    return max(0.0, delta.total_seconds() / 86400.0)


def _aware(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


DEAL_FIELDS = (
    "pk",
    "stage",
    "contact_id",
    "account_id",
    "owner_id",
    "amount",
    "discount_percent",
    "created_at",
    "closed_at",
)


def closed_deal_rows(*, workspace: Workspace, before: dt.datetime) -> list[dict[str, Any]]:
    """Won and lost deals closed before ``before``: the training rows."""
    return list(
        Deal.objects.in_workspace(workspace)
        .filter(stage__in=(Deal.Stage.WON, Deal.Stage.LOST), closed_at__lt=before)
        .order_by("pk")
        .values(*DEAL_FIELDS)
    )


def open_deal_rows(
    *, workspace: Workspace, id_range: tuple[int, int] | None = None, ids: list[int] | None = None
) -> list[dict[str, Any]]:
    qs = Deal.objects.in_workspace(workspace).filter(stage__in=OPEN_STAGES)
    if id_range is not None:
        qs = qs.filter(pk__gte=id_range[0], pk__lte=id_range[1])
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return list(qs.order_by("pk").values(*DEAL_FIELDS))


class _History:
    """The workspace's closed deals, for owner win rates and account histories as of a moment."""

    def __init__(self, workspace: Workspace) -> None:
        rows = (
            Deal.objects.in_workspace(workspace)
            .exclude(closed_at=None)
            .filter(stage__in=(Deal.Stage.WON, Deal.Stage.LOST))
            .order_by("closed_at", "pk")
            .values_list("owner_id", "account_id", "stage", "closed_at")
        )
        self.owner: dict[Any, tuple[list[dt.datetime], list[int]]] = {}
        self.account: dict[Any, tuple[list[dt.datetime], list[int]]] = {}
        for owner_id, account_id, stage, closed_at in rows:
            closed_at = _aware(closed_at)
            for index, key in ((self.owner, owner_id), (self.account, account_id)):
                times, wins = index.setdefault(key, ([], []))
                times.append(closed_at)
                wins.append(int(stage == Deal.Stage.WON))
        # Cumulative wins for counting in O(log n).
        self._cum = {
            id(entry): np.concatenate([[0], np.cumsum(entry[1])])
            for index in (self.owner, self.account)
            for entry in index.values()
        }
        amounts = (
            Deal.objects.in_workspace(workspace)
            .order_by("created_at", "pk")
            .values_list("account_id", "created_at", "amount")
        )
        self.amounts: dict[Any, tuple[list[dt.datetime], list[float]]] = {}
        self.all_amounts: list[tuple[dt.datetime, float]] = []
        for account_id, created_at, amount in amounts:
            created_at = _aware(created_at)
            times, values = self.amounts.setdefault(account_id, ([], []))
            times.append(created_at)
            values.append(float(amount))
            self.all_amounts.append((created_at, float(amount)))
        self.all_times = [t for t, _ in self.all_amounts]

    def counts(self, index: dict, key: Any, at: dt.datetime) -> tuple[int, int]:
        """(won, lost) closed strictly before ``at`` (a deal's own close is never
        before its moment, so it does not count itself)."""
        entry = index.get(key)
        if entry is None:
            return 0, 0
        n = bisect.bisect_left(entry[0], at)
        won = int(self._cum[id(entry)][n])
        return won, n - won

    def usual_amount(self, account_id: Any, at: dt.datetime, own: float) -> float:
        """The median amount of the account's deals created before ``at`` (else the
        workspace's), the deal's own amount when there is none."""
        entry = self.amounts.get(account_id)
        values: list[float] = []
        if entry is not None:
            values = entry[1][: bisect.bisect_left(entry[0], at)]
        if not values:
            values = [v for _, v in self.all_amounts[: bisect.bisect_left(self.all_times, at)]]
        return float(np.median(values)) if values else own


def _stage_histories(deal_ids: list[int]) -> dict[int, list[tuple[dt.datetime, str]]]:
    rows = (
        DealStageChange.objects.filter(**id_filter("deal_id", deal_ids))
        .order_by("deal_id", "changed_at", "pk")
        .values_list("deal_id", "changed_at", "to_stage")
    )
    history: dict[int, list[tuple[dt.datetime, str]]] = {}
    for deal_id, changed_at, to_stage in rows:
        history.setdefault(deal_id, []).append((_aware(changed_at), to_stage))
    return history


def _stage_at(
    history: list[tuple[dt.datetime, str]], at: dt.datetime, current: str, created: dt.datetime
) -> tuple[str, dt.datetime]:
    """The open stage a deal was in at ``at`` and when it entered it."""
    stage, since = None, created
    for changed_at, to_stage in history:
        if changed_at >= at:
            break
        stage, since = to_stage, changed_at
    if stage is None or stage not in OPEN_STAGES:
        # No history before ``at`` (an imported deal), or a reopened one.
        stage = current if current in OPEN_STAGES else Deal.Stage.LEAD
    return str(stage), since


def extract_deals(
    *,
    workspace: Workspace,
    rows: list[dict[str, Any]],
    times: list[dt.datetime],
    history: _History | None = None,
) -> DealRaw:
    """Win features of ``rows`` (deal values) as of ``times`` (one moment per deal)."""
    n = len(rows)
    matrix = np.zeros((n, len(WIN_FEATURES)), dtype=np.float64)
    col = {name: j for j, name in enumerate(WIN_FEATURES)}
    won = np.array(
        [
            1 if r["stage"] == Deal.Stage.WON else 0 if r["stage"] == Deal.Stage.LOST else -1
            for r in rows
        ],
        dtype=np.int8,
    )
    if n == 0:
        return DealRaw([], [], [], matrix, won)
    history = history or _History(workspace)
    deal_ids = [r["pk"] for r in rows]
    stages = _stage_histories(deal_ids)
    contact_ids = sorted({r["contact_id"] for r in rows if r["contact_id"] is not None})
    latest = max(times)
    touches: dict[int, list[dt.datetime]] = {}
    owned: dict[int, list[dt.datetime]] = {}
    tones: dict[int, list[tuple[dt.datetime, float]]] = {}
    if contact_ids:
        for contact_id, occurred_at in (
            Interaction.objects.filter(
                workspace_id=workspace.pk,
                occurred_at__lt=latest,
                **id_filter("contact_id", contact_ids),
            )
            .order_by("contact_id", "occurred_at")
            .values_list("contact_id", "occurred_at")
        ):
            touches.setdefault(contact_id, []).append(_aware(occurred_at))
        for contact_id, first in (
            OrderLine.objects.filter(
                workspace_id=workspace.pk, **id_filter("order__contact_id", contact_ids)
            )
            .values("order__contact_id", "product_id")
            .annotate(first=Min("order__ordered_at"))
            .order_by("order__contact_id", "first")
            .values_list("order__contact_id", "first")
        ):
            owned.setdefault(contact_id, []).append(_aware(first))
        sentiment = facade_for("sentiment", workspace=workspace)
        if sentiment.available:
            tones = sentiment.polarity_history(
                workspace_id=workspace.pk, contact_ids=contact_ids, before=latest
            )
    at_stage: list[str] = []
    for i, (row, at) in enumerate(zip(rows, times, strict=True)):
        x = matrix[i]
        created = _aware(row["created_at"])
        stage, since = _stage_at(stages.get(row["pk"], []), at, row["stage"], created)
        at_stage.append(stage)
        x[col[f"stage={stage}"]] = 1.0
        x[col["days_in_stage"]] = _days(at - since)
        x[col["deal_age_days"]] = _days(at - created)
        amount = float(row["amount"] or 0)
        usual = history.usual_amount(row["account_id"], min(at, created), amount)
        x[col["amount_vs_usual"]] = math.log2(max(amount, 1.0) / max(usual, 1.0))
        if stage in (Deal.Stage.PROPOSAL, Deal.Stage.NEGOTIATION):
            # A discount counts once a price is on the table.
            x[col["discount_percent"]] = float(row["discount_percent"] or 0)
        seen = touches.get(row["contact_id"], [])
        upto = bisect.bisect_left(seen, at)
        x[col["touches_total"]] = upto
        x[col["deal_touches"]] = upto - bisect.bisect_left(seen, created)
        x[col["touches_14d"]] = upto - bisect.bisect_left(seen, at - dt.timedelta(days=14))
        x[col["days_since_touch"]] = min(MAX_DAYS, _days(at - seen[upto - 1])) if upto else MAX_DAYS
        tone = [(t, p) for t, p in tones.get(row["contact_id"], []) if t < at]
        recent = [p for t, p in tone if t >= at - dt.timedelta(days=90)]
        x[col["tone_90d"]] = float(np.mean(recent)) if recent else 0.0
        x[col["negative_30d"]] = sum(
            1 for t, p in tone if t >= at - dt.timedelta(days=30) and p < NEGATIVE_POLARITY
        )
        owner_won, owner_lost = history.counts(history.owner, row["owner_id"], at)
        # Smoothed toward one in two: a new owner is not 0% or 100%.
        x[col["owner_win_rate"]] = (owner_won + 1) / (owner_won + owner_lost + 2)
        acc_won, acc_lost = history.counts(history.account, row["account_id"], at)
        x[col["account_won_deals"]] = acc_won
        x[col["account_lost_deals"]] = acc_lost
        x[col["products_owned"]] = bisect.bisect_left(owned.get(row["contact_id"], []), at)
    return DealRaw(deal_ids, list(times), at_stage, matrix, won)


def training_snapshot(*, workspace: Workspace, before: dt.datetime) -> DealRaw:
    """Closed deals as of a moment inside their open lives (the training rows)."""
    rows = closed_deal_rows(workspace=workspace, before=before)
    times = [snapshot_time(_aware(r["created_at"]), _aware(r["closed_at"])) for r in rows]
    return extract_deals(workspace=workspace, rows=rows, times=times)
