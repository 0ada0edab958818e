"""Settings of the sentiment capability: ``AI_SENTIMENT_<NAME>``.

Each is read from the Django setting, then the environment variable of the
same name, then the default here (see :mod:`crmcore.conf`).
"""

from __future__ import annotations

from crmcore.conf import AppSettings


class SentimentSettings(AppSettings):
    prefix = "AI_SENTIMENT_"

    #: Characters of an interaction's text that are analysed; longer texts are truncated.
    MAX_TEXT_LENGTH: int = 5000
    #: The analyze endpoint answers 400 for texts longer than this.
    API_MAX_TEXT_LENGTH: int = 20000
    #: Polarity above which a text is positive, below the negative one negative.
    POSITIVE_THRESHOLD: float = 0.1
    NEGATIVE_THRESHOLD: float = -0.1

    #: Corrections a workspace needs before its own model is trained.
    MIN_CORRECTIONS: int = 20
    #: New corrections after which the model is trained again.
    RETRAIN_EVERY: int = 10
    #: Weight of the learned model against TextBlob's tone (1.0: the model alone).
    BLEND_WEIGHT: float = 0.8

    #: A contact's alert: mean polarity of their last RECENT interactions against
    #: the mean of up to BASELINE earlier ones (at least BASELINE_MIN of them).
    ALERT_RECENT_WINDOW: int = 3
    ALERT_BASELINE_WINDOW: int = 20
    ALERT_BASELINE_MIN: int = 3
    ALERT_DROP_THRESHOLD: float = 0.3

    #: Interactions analysed per chunk (one bulk write each).
    CHUNK_SIZE: int = 500
    #: Processes that analyse chunks in a batch run.
    WORKERS: int = 1


app_settings = SentimentSettings()
