"""Settings of the prediction capability: ``AI_PREDICTION_<NAME>``.

Each is read from the Django setting, then the environment variable of the
same name, then the default here (see :mod:`crmcore.conf`).
"""

from __future__ import annotations

from crmcore.conf import AppSettings


class PredictionSettings(AppSettings):
    prefix = "AI_PREDICTION_"

    #: Quality gate: a model version is published only at or above this held-out AUC.
    MIN_AUC: float = 0.7
    #: Too little history below these counts (labelled contacts of each class).
    MIN_CHURNED: int = 10
    MIN_CUSTOMERS: int = 10
    #: Too few closed deals below these counts (won and lost) to train the win model.
    MIN_WON_DEALS: int = 15
    MIN_LOST_DEALS: int = 15
    #: Win probability bands of pipeline badges.
    WIN_HIGH: float = 0.6
    WIN_LOW: float = 0.3
    #: Retrain a live model older than this many days (the nightly check).
    MAX_MODEL_AGE_DAYS: int = 30
    #: Population stability index past which a feature or the score has drifted.
    PSI_WARNING: float = 0.25
    #: Live calibration: |mean predicted - observed| past which outcomes disagree.
    CALIBRATION_WARNING: float = 0.15
    #: Outcomes needed before the live calibration is judged.
    MIN_LIVE_OUTCOMES: int = 20
    #: Currency of amounts in explanations (ISO code; $, €, £ and ¥ get their symbol).
    CURRENCY: str = "USD"
    #: Risk bands; the high band is also the action threshold of the bias audit.
    HIGH_RISK: float = 0.6
    MEDIUM_RISK: float = 0.3
    #: One-hot encoding keeps at most this many categories per column (+ "other").
    MAX_CATEGORIES: int = 10
    #: Contacts per scoring chunk.
    CHUNK_SIZE: int = 5000
    #: Disparate impact below this ratio is flagged (four-fifths rule).
    MIN_IMPACT_RATIO: float = 0.8
    #: |correlation| between a top feature and a sensitive group that flags a proxy.
    PROXY_CORRELATION: float = 0.5


app_settings = PredictionSettings()
