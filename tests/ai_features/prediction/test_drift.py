"""Drift on the model card: population stability, the warning, and the event webhooks
can subscribe to."""

from __future__ import annotations

import numpy as np
from django.urls import reverse
from django.utils import timezone

from ai_features.capabilities.prediction.deal_features import WIN_FEATURES
from ai_features.capabilities.prediction.models import ModelVersion
from ai_features.capabilities.prediction.models_math import population_stability
from crmcore.events import registered_events


def test_population_stability__same_and_shifted_distributions():
    rng = np.random.default_rng(0)
    reference = rng.normal(0.0, 1.0, 5000)

    assert population_stability(reference, rng.normal(0.0, 1.0, 5000)) < 0.02
    assert 0.1 < population_stability(reference, rng.normal(0.5, 1.0, 5000)) < 0.4
    assert population_stability(reference, rng.normal(2.0, 1.0, 5000)) > 1.0
    assert population_stability(reference, np.array([])) == 0.0
    # A few distinct values (a win rate per owner), stored in single precision:
    # the same values are the same population.
    rates = np.repeat([0.2, 0.35, 0.5, 0.6123456789], 50)
    assert population_stability(rates.astype(np.float32), rates) == 0.0


def test_drift_event__registered__webhooks_can_subscribe_to_it():
    assert "model.drift_detected" in registered_events()


def test_model_card__drifted_win_model__warning_psi_and_live_calibration(workspace, staff_client):
    version = ModelVersion.objects.create(
        workspace=workspace,
        kind=ModelVersion.Kind.WIN,
        number=3,
        status=ModelVersion.Status.PUBLISHED,
        is_live=True,
        as_of=timezone.now(),
        feature_names=list(WIN_FEATURES),
        coefficients=[0.0] * len(WIN_FEATURES),
        metrics={"auc": 0.81, "auc_stage_baseline": 0.74, "brier": 0.15},
        drift={
            "checked_at": "2026-11-03T02:31:00+00:00",
            "open_deals": 51,
            "score_psi": 0.31,
            "threshold": 0.25,
            "features": {"amount_vs_usual": 1.84, "touches_14d": 0.02},
            "calibration": {"outcomes": 40, "predicted": 0.62, "observed": 0.41, "gap": 0.21},
            "warnings": ["score: population stability 0.31 (above 0.25)"],
        },
    )

    html = staff_client.get(reverse("prediction:model-card", args=[version.pk])).content.decode()

    assert "Model card: deal win model v3" in html
    assert 'data-testid="drift-warnings"' in html
    assert "score: population stability 0.31 (above 0.25)" in html
    assert "Amount against the account&#x27;s usual deal" in html and "1.84" in html
    assert "given 62% on average, 41% won" in html
