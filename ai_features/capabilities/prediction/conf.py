"""Settings of the prediction capability: ``AI_PREDICTION_<NAME>`` or the default here."""

from __future__ import annotations

from typing import Any

from django.conf import settings

PREFIX = "AI_PREDICTION_"

DEFAULTS: dict[str, Any] = {
    # Quality gate: a model version is published only at or above this held-out AUC.
    "MIN_AUC": 0.7,
    # Training snapshot: features as of this many days ago, label = stage today.
    "HORIZON_DAYS": 30,
    # Too little history below these counts (labelled contacts of each class).
    "MIN_CHURNED": 10,
    "MIN_CUSTOMERS": 10,
    # Currency of amounts in explanations (ISO code; $, €, £ and ¥ get their symbol).
    "CURRENCY": "USD",
    # Risk bands; the high band is also the action threshold of the bias audit.
    "HIGH_RISK": 0.6,
    "MEDIUM_RISK": 0.3,
    # One-hot encoding keeps at most this many categories per column (+ "other").
    "MAX_CATEGORIES": 10,
    # Contacts per scoring chunk.
    "CHUNK_SIZE": 5000,
    # Share of labelled contacts held out for the model card's metrics.
    "TEST_SIZE": 0.25,
    # Disparate impact below this ratio is flagged (four-fifths rule).
    "MIN_IMPACT_RATIO": 0.8,
    # |correlation| between a top feature and a sensitive group that flags a proxy.
    "PROXY_CORRELATION": 0.5,
}


def get_setting(name: str) -> Any:
    return getattr(settings, PREFIX + name, DEFAULTS[name])
