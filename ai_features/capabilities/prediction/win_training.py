"""Training and evaluating a workspace's deal win model.

Trained on the workspace's won and lost deals, each described as of a moment
inside its open life (``deal_features``). Measured on a held-out quarter
against the baseline a sales team already has: the historical win rate of the
stage the deal was in (from the training deals), in the same run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from ai_features.capabilities.prediction.conf import app_settings
from ai_features.capabilities.prediction.deal_features import (
    OPEN_STAGES,
    STAGE_FEATURES,
    WIN_DIRECTIONS,
    WIN_FEATURES,
    DealRaw,
    training_snapshot,
)
from ai_features.capabilities.prediction.models_math import (
    WinModel,
    churn_metrics,
    fit_standardized,
)
from ai_features.capabilities.prediction.training import TEST_SIZE, InsufficientHistory
from crmcore.models import Workspace


@dataclass
class WinTrainingResult:
    model: WinModel
    metrics: dict[str, Any]
    as_of: dt.datetime
    data_start: dt.datetime | None
    data_end: dt.datetime | None
    holdout: dict[str, Any]
    #: Distributions drift is measured against (each feature and the score): the
    #: training deals here, replaced by the open deals of the day when there are some.
    reference: dict[str, Any]


def stage_win_rates(raw: DealRaw) -> dict[str, float]:
    """The share of deals won among those that were in each stage (smoothed)."""
    overall = float(raw.won.mean()) if len(raw) else 0.5
    rates = {}
    for stage in OPEN_STAGES:
        mask = np.array([s == stage for s in raw.stages], dtype=bool)
        n = int(mask.sum())
        rates[stage] = (float(raw.won[mask].sum()) + overall) / (n + 1)
    return rates


def fit_win_model(raw: DealRaw) -> WinModel:
    directions = np.array([WIN_DIRECTIONS.get(name, 0) for name in WIN_FEATURES], dtype=np.int8)
    mean, scale, coef, intercept = fit_standardized(raw.matrix, raw.won, directions)
    return WinModel(
        names=list(WIN_FEATURES),
        mean=mean,
        scale=scale,
        coef=coef,
        intercept=intercept,
        stage_columns=[WIN_FEATURES.index(name) for name in STAGE_FEATURES],
    )


def train_win(*, workspace: Workspace, as_of: dt.datetime) -> WinTrainingResult:
    """Fit the win model on deals closed before ``as_of``; raise InsufficientHistory if thin."""
    # Lazy: scikit-learn takes about a second to import; only training needs it.
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    raw = training_snapshot(workspace=workspace, before=as_of)
    won = int(raw.won.sum())
    lost = len(raw) - won
    need_won, need_lost = app_settings.MIN_WON_DEALS, app_settings.MIN_LOST_DEALS
    if won < need_won or lost < need_lost:
        raise InsufficientHistory(
            f"Not enough closed deals to predict wins yet: {won} won and {lost} lost; at "
            f"least {need_won} won and {need_lost} lost are needed."
        )
    train_idx, test_idx = train_test_split(
        np.arange(len(raw)), test_size=TEST_SIZE, random_state=0, stratify=raw.won
    )
    train_raw, test_raw = raw.subset(train_idx), raw.subset(test_idx)
    model = fit_win_model(train_raw)
    y_test = test_raw.won.astype(np.int8)
    p_test = model.predict_proba(test_raw.matrix)
    metrics = churn_metrics(y_test, p_test)
    rates = stage_win_rates(train_raw)
    baseline = np.array([rates[s] for s in test_raw.stages])
    metrics.update(
        {
            "auc_stage_baseline": round(float(roc_auc_score(y_test, baseline)), 4),
            "brier_stage_baseline": round(float(brier_score_loss(y_test, baseline)), 4),
            "stage_win_rates": {s: round(r, 4) for s, r in rates.items()},
            "n_train": len(train_idx),
            "n_test": len(test_idx),
            "won": won,
            "lost": lost,
        }
    )
    p_train = model.predict_proba(train_raw.matrix)
    return WinTrainingResult(
        model=model,
        metrics=metrics,
        as_of=as_of,
        data_start=min(raw.times) if raw.times else None,
        data_end=max(raw.times) if raw.times else as_of,
        holdout={
            "deal_ids": list(test_raw.deal_ids),
            "y": y_test,
            "p": p_test,
            "z": model.standardize(test_raw.matrix).astype(np.float32),
        },
        reference={"features": train_raw.matrix.astype(np.float32), "score": p_train},
    )
