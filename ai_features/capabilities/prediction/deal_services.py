"""Writes of the deal win model: training, publishing, scoring, bias audit,
the refresh queue of changed customers and deals, and drift checks.

Versions are ``ModelVersion`` rows of kind ``win``: the same quality gate,
rollback (``services.model_version_publish``), model card and bias audit as
churn.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ai_features.capabilities.prediction.conf import app_settings
from ai_features.capabilities.prediction.deal_features import (
    WIN_FEATURES,
    extract_deals,
    open_deal_rows,
)
from ai_features.capabilities.prediction.deal_selectors import live_calibration
from ai_features.capabilities.prediction.models import (
    DealScore,
    ModelVersion,
    ScoreRefresh,
)
from ai_features.capabilities.prediction.models_math import population_stability
from ai_features.capabilities.prediction.selectors import model_version_live
from ai_features.capabilities.prediction.services import (
    TOP_FACTORS,
    _make_live,
    _next_number,
    artifact_load,
    artifact_save,
    contact_scores_write,
    deal_bias_audit_run,
    top_factors,
)
from ai_features.capabilities.prediction.training import InsufficientHistory
from ai_features.capabilities.prediction.win_training import train_win
from crmcore.db import adapt_datetime, upsert
from crmcore.events import emit_on_commit
from crmcore.models import Contact, Deal, Workspace

WIN = ModelVersion.Kind.WIN
DRIFT_EVENT = "model.drift_detected"


# ---------------------------------------------------------------- training


def win_version_train(
    *, workspace: Workspace, user=None, as_of: dt.datetime | None = None
) -> ModelVersion:
    """Train a win model version; publish it past the quality gate.

    The gate: held-out AUC at least ``MIN_AUC`` and a Brier score no worse than
    the stage's historical win rate on the same deals.
    """
    as_of = as_of or timezone.now()
    trained_by = user if getattr(user, "is_authenticated", False) else None
    try:
        result = train_win(workspace=workspace, as_of=as_of)
    except InsufficientHistory as exc:
        with transaction.atomic():
            return ModelVersion.objects.create(
                workspace=workspace,
                kind=WIN,
                number=_next_number(workspace, WIN),
                status=ModelVersion.Status.INSUFFICIENT,
                as_of=as_of,
                notes=str(exc),
                trained_by=trained_by,
            )
    metrics = result.metrics
    reference = _scored_population(workspace=workspace, model=result.model, at=as_of)
    if reference is not None:
        result.reference = reference
    passed = (
        metrics["auc"] >= app_settings.MIN_AUC
        and metrics["brier"] <= metrics["brier_stage_baseline"]
    )
    with transaction.atomic():
        version = ModelVersion(
            workspace=workspace,
            kind=WIN,
            number=_next_number(workspace, WIN),
            status=ModelVersion.Status.PUBLISHED if passed else ModelVersion.Status.REJECTED,
            as_of=as_of,
            data_start=result.data_start,
            data_end=result.data_end,
            feature_names=list(result.model.names),
            coefficients=[round(float(c), 6) for c in result.model.coef],
            intercept=result.model.intercept,
            metrics={**metrics, "min_auc": app_settings.MIN_AUC},
            trained_by=trained_by,
        )
        artifact_save(
            version=version,
            payload={"win": result.model, "holdout": result.holdout, "reference": result.reference},
        )
        version.save()
        if passed:
            _make_live(version)
            deal_bias_audit_run(version=version)
    return version


def _scored_population(*, workspace: Workspace, model, at: dt.datetime) -> dict[str, Any] | None:
    """Features and scores of the open deals at training time: what later drift
    checks compare today's open deals with (None when there were none)."""
    rows = open_deal_rows(workspace=workspace)
    if not rows:
        return None
    raw = extract_deals(workspace=workspace, rows=rows, times=[at] * len(rows))
    return {
        "features": raw.matrix.astype(np.float32),
        "score": model.predict_proba(raw.matrix),
    }


# ---------------------------------------------------------------- bias audit


# Deal bias audits run with the churn ones (``services.deal_bias_audit_run``): a
# rollback publishes through ``services.model_version_publish``.


# ---------------------------------------------------------------- scoring


class DealScoreRow(NamedTuple):
    workspace_id: int
    deal_id: int
    model_version_id: int
    probability: float
    log_odds: float
    factors: str  # JSON
    rest: float
    scored_at: Any


@dataclass
class DealScoring:
    scored: int = 0


def deal_scores_write(
    *,
    workspace: Workspace,
    version: ModelVersion,
    payload: dict[str, Any],
    rows: list[dict[str, Any]],
    as_of: dt.datetime,
) -> int:
    """Score the open deals ``rows`` as of ``as_of``; one bulk upsert."""
    if not rows:
        return 0
    model = payload["win"]
    raw = extract_deals(workspace=workspace, rows=rows, times=[as_of] * len(rows))
    contributions = model.contributions(raw.matrix)
    log_odds = contributions.sum(axis=1) + model.intercept
    probability = 1.0 / (1.0 + np.exp(-log_odds))
    factors = top_factors(raw.matrix, contributions, TOP_FACTORS)
    rest = (log_odds - model.intercept - factors.total).tolist()
    columns = factors.columns.tolist()
    values = np.round(factors.values, 6).tolist()
    inputs = np.round(factors.inputs, 4).tolist()
    counts = factors.counts.tolist()
    scored_at = adapt_datetime(as_of)
    out = []
    for i, deal_id in enumerate(raw.deal_ids):
        n = counts[i]
        picked = list(zip(columns[i][:n], values[i][:n], inputs[i][:n], strict=True))
        out.append(
            DealScoreRow(
                workspace.pk,
                deal_id,
                version.pk,
                float(probability[i]),
                float(log_odds[i]),
                json.dumps(picked),
                rest[i],
                scored_at,
            )
        )
    with transaction.atomic():
        upsert(DealScore, out, unique=("workspace_id", "deal_id"))
    return len(out)


def deals_score(
    *,
    workspace: Workspace,
    chunk_size: int | None = None,
    on_chunk=None,
    now: dt.datetime | None = None,
) -> DealScoring:
    """Score every open deal with the live win model, chunk by chunk.

    Scores of deals that have closed stay as they were: the live calibration
    compares them with the outcomes.
    """
    version = model_version_live(workspace=workspace, kind=WIN)
    if version is None:
        raise InsufficientHistory("No published win model for this workspace yet.")
    payload = artifact_load(version)
    now = now or timezone.now()
    chunk_size = chunk_size or app_settings.CHUNK_SIZE
    result = DealScoring()
    last = 0
    while True:
        ids = list(
            Deal.objects.in_workspace(workspace)
            .filter(stage__in=Deal.OPEN_STAGES, pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk_size]
        )
        if not ids:
            break
        last = ids[-1]
        rows = open_deal_rows(workspace=workspace, id_range=(ids[0], ids[-1]))
        n = deal_scores_write(
            workspace=workspace, version=version, payload=payload, rows=rows, as_of=now
        )
        result.scored += n
        if on_chunk is not None:
            on_chunk(n)
    return result


# ---------------------------------------------------------------- refresh queue


def score_refresh_mark(*, workspace_id: int, kind: str, object_ids: list[int]) -> None:
    """Queue contacts or deals for a fresh score (one row each however often marked)."""
    ids = sorted({int(i) for i in object_ids if i})
    if ids:
        # One insert; an object already queued keeps its row (and its first time).
        ScoreRefresh.objects.bulk_create(
            [
                ScoreRefresh(
                    workspace_id=workspace_id, kind=kind, object_id=i, queued_at=timezone.now()
                )
                for i in ids
            ],
            ignore_conflicts=True,
        )


@dataclass
class RefreshResult:
    contacts: int = 0
    deals: int = 0


def _ranges(ids: list[int], span: int) -> list[tuple[int, int]]:
    """Contiguous id ranges covering ``ids``, each at most ``span`` wide."""
    ranges: list[tuple[int, int]] = []
    for i in sorted(ids):
        if ranges and i - ranges[-1][0] < span:
            ranges[-1] = (ranges[-1][0], i)
        else:
            ranges.append((i, i))
    return ranges


def score_refresh_drain(
    *, workspace: Workspace, now: dt.datetime | None = None, limit: int = 5000
) -> RefreshResult:
    """Re-score the queued contacts (churn) and deals (win), in bulk, and empty the queue.

    A changed contact also re-scores its open deals. Only the rows read at the
    start are deleted: objects queued while this runs stay for the next run.
    """
    now = now or timezone.now()
    queued = list(
        ScoreRefresh.objects.filter(workspace=workspace)
        .order_by("pk")
        .values_list("pk", "kind", "object_id")[:limit]
    )
    if not queued:
        return RefreshResult()
    contact_ids = [o for _, kind, o in queued if kind == ScoreRefresh.Kind.CONTACT]
    deal_ids = {o for _, kind, o in queued if kind == ScoreRefresh.Kind.DEAL}
    result = RefreshResult()
    churn = model_version_live(workspace=workspace)
    if churn is not None and contact_ids:
        payload = artifact_load(churn)
        customers = set(
            Contact.objects.in_workspace(workspace)
            .filter(pk__in=contact_ids, lifecycle_stage=Contact.Stage.CUSTOMER)
            .values_list("pk", flat=True)
        )
        for lo, hi in _ranges(sorted(customers), app_settings.CHUNK_SIZE):
            result.contacts += contact_scores_write(
                workspace=workspace, version=churn, payload=payload, id_range=(lo, hi), as_of=now
            ).scored
    win = model_version_live(workspace=workspace, kind=WIN)
    if win is not None and (deal_ids or contact_ids):
        rows = list(
            Deal.objects.in_workspace(workspace)
            .filter(stage__in=Deal.OPEN_STAGES)
            .filter(Q(pk__in=deal_ids) | Q(contact_id__in=contact_ids))
            .values_list("pk", flat=True)
        )
        result.deals = deal_scores_write(
            workspace=workspace,
            version=win,
            payload=artifact_load(win),
            rows=open_deal_rows(workspace=workspace, ids=rows),
            as_of=now,
        )
    ScoreRefresh.objects.filter(pk__in=[pk for pk, _, _ in queued]).delete()
    return result


# ---------------------------------------------------------------- drift


def drift_check(*, version: ModelVersion, now: dt.datetime | None = None) -> dict[str, Any]:
    """PSI per feature and of the score (open deals now against the open deals when
    the model was trained),
    live calibration, warnings; stores them on the version and emits
    ``model.drift_detected`` when a warning is new."""
    now = now or timezone.now()
    workspace = version.workspace
    reference = artifact_load(version)["reference"]
    rows = open_deal_rows(workspace=workspace)
    raw = extract_deals(workspace=workspace, rows=rows, times=[now] * len(rows))
    model = artifact_load(version)["win"]
    features: dict[str, float] = {}
    if len(raw):
        ref = np.asarray(reference["features"], dtype=np.float64)
        for j, name in enumerate(WIN_FEATURES):
            features[name] = population_stability(ref[:, j], raw.matrix[:, j])
        score_psi = population_stability(
            np.asarray(reference["score"]), model.predict_proba(raw.matrix)
        )
    else:
        score_psi = 0.0
    calibration = live_calibration(workspace=workspace)
    limit = app_settings.PSI_WARNING
    warnings = [
        f"{name}: population stability {value:.2f} (above {limit:.2f})"
        for name, value in sorted(features.items(), key=lambda kv: -kv[1])
        if value > limit
    ]
    if score_psi > limit:
        warnings.insert(0, f"score: population stability {score_psi:.2f} (above {limit:.2f})")
    if (
        calibration["outcomes"] >= app_settings.MIN_LIVE_OUTCOMES
        and calibration["gap"] is not None
        and calibration["gap"] > app_settings.CALIBRATION_WARNING
    ):
        warnings.append(
            f"calibration: deals were given {calibration['predicted']:.0%} on average and "
            f"{calibration['observed']:.0%} were won"
        )
    report = {
        "checked_at": now.isoformat(),
        "open_deals": len(raw),
        "score_psi": score_psi,
        "features": features,
        "calibration": calibration,
        "warnings": warnings,
        "threshold": limit,
    }
    previous = set((version.drift or {}).get("warnings", []))
    with transaction.atomic():
        version.drift = report
        version.save(update_fields=["drift"])
        if warnings and set(warnings) != previous:
            emit_on_commit(
                DRIFT_EVENT,
                workspace=workspace,
                payload={
                    "model": version.kind,
                    "model_version": version.number,
                    "score_psi": score_psi,
                    "drifted_features": [n for n, v in features.items() if v > limit],
                    "calibration_gap": calibration["gap"],
                    "warnings": warnings,
                },
            )
    return report


def needs_retraining(
    *, version: ModelVersion | None, now: dt.datetime, check_drift: bool = True
) -> str:
    """Why the live model should be retrained now ("" when it should not)."""
    if version is None:
        return "no live model"
    age = now - (version.published_at or version.trained_at)
    if age > dt.timedelta(days=app_settings.MAX_MODEL_AGE_DAYS):
        return f"older than {app_settings.MAX_MODEL_AGE_DAYS} days"
    if check_drift and (version.drift or {}).get("warnings"):
        return "data drifted"
    return ""
