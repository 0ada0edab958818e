"""Reads of the deal win model: a deal's prediction, scores in bulk, the sortable
table of open deals and the forecast. Every read takes the workspace explicitly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Count, F, FloatField, Sum
from django.db.models.functions import Cast, TruncMonth

from ai_features.capabilities.prediction.conf import app_settings
from ai_features.capabilities.prediction.explain import Explanation, explanation_from_score
from ai_features.capabilities.prediction.models import DealScore, ModelVersion
from ai_features.capabilities.prediction.selectors import model_version_live
from ai_features.facades import id_filter
from crmcore.models import Deal, Workspace

WIN = ModelVersion.Kind.WIN


def win_band(probability: float) -> str:
    if probability >= app_settings.WIN_HIGH:
        return "high"
    if probability >= app_settings.WIN_LOW:
        return "medium"
    return "low"


@dataclass(frozen=True)
class DealPrediction:
    available: bool
    reason: str = ""
    probability: float = 0.0
    explanation: Explanation | None = None
    version: int | None = None
    scored_at: dt.datetime | None = None

    @property
    def percent(self) -> int:
        return round(100 * self.probability)

    @property
    def band(self) -> str:
        return win_band(self.probability)


def deal_prediction(*, workspace: Workspace, deal: Deal) -> DealPrediction:
    """A deal's win probability and its factors in words (two queries)."""
    if not deal.is_open:
        return DealPrediction(False, f"The deal is {deal.get_stage_display().lower()}.")
    score = (
        DealScore.objects.filter(workspace=workspace, deal=deal)
        .select_related("model_version")
        .first()
    )
    if score is None:
        live = model_version_live(workspace=workspace, kind=WIN)
        reason = (
            "Not scored yet: the next scoring run will."
            if live
            else "No win model yet: it needs won and lost deals to learn from."
        )
        return DealPrediction(False, reason)
    version = score.model_version
    return DealPrediction(
        True,
        probability=score.probability,
        explanation=explanation_from_score(
            feature_names=version.feature_names,
            intercept=version.intercept,
            factors=score.factors,
            rest=score.rest,
            log_odds=score.log_odds,
            as_of=score.scored_at,
        ),
        version=version.number,
        scored_at=score.scored_at,
    )


def deal_scores_for(*, workspace: Workspace, deal_ids: list[int]) -> dict[int, DealScore]:
    """deal id -> its score, for the scored ones among ``deal_ids`` (one query)."""
    if not deal_ids:
        return {}
    wanted = set(deal_ids)
    rows = DealScore.objects.filter(workspace=workspace, **id_filter("deal_id", deal_ids)).only(
        "deal_id", "probability"
    )
    return {s.deal_id: s for s in rows if s.deal_id in wanted}


#: Sortable columns of the open-deal table: key -> ordering.
DEAL_TABLE_SORTS = {
    "win": ("-probability", "pk"),
    "-win": ("probability", "pk"),
    "amount": ("-deal__amount", "pk"),
    "expected": ("-expected", "pk"),
    "close": ("deal__expected_close", "pk"),
    "name": ("deal__name", "pk"),
}


def open_deal_table(*, workspace: Workspace, sort: str = "win", limit: int = 100) -> list[Any]:
    """The scored open deals, sorted by ``sort`` (a key of DEAL_TABLE_SORTS), one query."""
    ordering = DEAL_TABLE_SORTS.get(sort, DEAL_TABLE_SORTS["win"])
    return list(
        DealScore.objects.filter(workspace=workspace, deal__stage__in=Deal.OPEN_STAGES)
        .select_related("deal", "deal__account", "deal__owner")
        .annotate(expected=Cast("deal__amount", FloatField()) * F("probability"))
        .order_by(*ordering)[:limit]
    )


def live_calibration(*, workspace: Workspace) -> dict[str, Any]:
    """How the win probabilities given to deals compare with how they ended.

    Each deal that closed after it was last scored counts once, with the
    probability it had then: bins of predicted probability against the share
    won (one query).
    """
    rows = list(
        DealScore.objects.filter(
            workspace=workspace,
            deal__stage__in=(Deal.Stage.WON, Deal.Stage.LOST),
            deal__closed_at__gte=F("scored_at"),
        ).values_list("probability", "deal__stage")
    )
    if not rows:
        return {"outcomes": 0, "bins": [], "predicted": None, "observed": None, "gap": None}
    p = np.array([r[0] for r in rows])
    y = np.array([1 if r[1] == Deal.Stage.WON else 0 for r in rows])
    bins = []
    for k in range(5):
        lo, hi = k / 5, (k + 1) / 5
        mask = (p >= lo) & ((p < hi) if k < 4 else (p <= hi))
        if mask.any():
            bins.append(
                {
                    "bin": f"{round(lo * 100)}-{round(hi * 100)}%",
                    "count": int(mask.sum()),
                    "predicted": round(float(p[mask].mean()), 4),
                    "observed": round(float(y[mask].mean()), 4),
                }
            )
    predicted, observed = float(p.mean()), float(y.mean())
    return {
        "outcomes": len(rows),
        "bins": bins,
        "predicted": round(predicted, 4),
        "observed": round(observed, 4),
        "gap": round(abs(predicted - observed), 4),
    }


@dataclass
class ForecastRow:
    label: str
    deals: int
    pipeline: Decimal
    expected: float


@dataclass
class Forecast:
    by_month: list[ForecastRow] = field(default_factory=list)
    by_stage: list[ForecastRow] = field(default_factory=list)
    expected_total: float = 0.0
    pipeline_total: Decimal = Decimal("0")
    unscored: int = 0
    calibration: dict[str, Any] = field(default_factory=dict)
    holdout_reliability: list[dict[str, Any]] = field(default_factory=list)
    version: int | None = None


def _percent_bin(label: str) -> str:
    """A reliability bin as percentages: "0.6-0.7" -> "60-70%"."""
    try:
        low, high = (float(x) for x in label.split("-"))
    except ValueError:
        return label
    return f"{round(100 * low)}-{round(100 * high)}%"


def forecast(*, workspace: Workspace) -> Forecast:
    """Expected revenue (sum of win probability x amount) of the open deals by close
    month and by stage, with the calibration of past probabilities (five queries)."""
    scored = DealScore.objects.filter(workspace=workspace, deal__stage__in=Deal.OPEN_STAGES)
    expected = Sum(Cast("deal__amount", FloatField()) * F("probability"))
    result = Forecast()
    for row in (
        scored.annotate(month=TruncMonth("deal__expected_close"))
        .values("month")
        .annotate(deals=Count("pk"), pipeline=Sum("deal__amount"), expected=expected)
        .order_by(F("month").asc(nulls_last=True))
    ):
        label = row["month"].strftime("%b %Y") if row["month"] else "No close date"
        result.by_month.append(
            ForecastRow(label, row["deals"], row["pipeline"] or Decimal(0), row["expected"] or 0.0)
        )
    stages = dict(Deal.Stage.choices)
    by_stage = {
        row["deal__stage"]: row
        for row in scored.values("deal__stage")
        .annotate(deals=Count("pk"), pipeline=Sum("deal__amount"), expected=expected)
        .order_by()
    }
    for stage in Deal.OPEN_STAGES:
        totals = by_stage.get(stage)
        if totals:
            result.by_stage.append(
                ForecastRow(
                    stages[stage],
                    totals["deals"],
                    totals["pipeline"] or Decimal(0),
                    totals["expected"] or 0.0,
                )
            )
    result.expected_total = sum(r.expected for r in result.by_stage)
    result.pipeline_total = sum((r.pipeline for r in result.by_stage), Decimal(0))
    open_count = Deal.objects.in_workspace(workspace).filter(stage__in=Deal.OPEN_STAGES).count()
    result.unscored = open_count - sum(r.deals for r in result.by_stage)
    result.calibration = live_calibration(workspace=workspace)
    live = model_version_live(workspace=workspace, kind=WIN)
    if live is not None:
        result.version = live.number
        result.holdout_reliability = [
            {**row, "bin": _percent_bin(row.get("bin", ""))}
            for row in (live.metrics or {}).get("reliability", [])
        ]
    return result
