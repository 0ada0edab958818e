"""Defaults of the sentiment settings; override with ``AI_SENTIMENT_<NAME>``."""

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
#: Share of the corrections kept aside to measure accuracy on the model card.
HOLDOUT_FRACTION: float = 0.25
#: Weight of the learned model against TextBlob's tone (1.0: the model alone).
BLEND_WEIGHT: float = 0.8

#: A contact's alert: mean polarity of their last RECENT interactions against
#: the mean of up to BASELINE earlier ones (at least BASELINE_MIN of them).
ALERT_RECENT_WINDOW: int = 3
ALERT_BASELINE_WINDOW: int = 20
ALERT_BASELINE_MIN: int = 3
ALERT_DROP_THRESHOLD: float = 0.3

#: Points on a contact's trend chart.
TREND_POINTS: int = 30
#: Interactions analysed per chunk (one bulk write each).
CHUNK_SIZE: int = 500
#: Processes that analyse chunks in a batch run.
WORKERS: int = 1
