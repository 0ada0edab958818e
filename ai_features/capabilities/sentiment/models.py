"""The sentiment capability's data (app label ``ai_sentiment``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

TONE_CHOICES = [
    ("positive", "Positive"),
    ("neutral", "Neutral"),
    ("negative", "Negative"),
    ("frustrated", "Frustrated"),
    ("urgent", "Urgent"),
]


class InteractionSentiment(models.Model):
    """The analysed tone of one interaction, keyed by a hash of its text."""

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    interaction = models.OneToOneField(
        "crmcore.Interaction", on_delete=models.CASCADE, related_name="sentiment"
    )
    # Copied from the interaction so that a contact's trend is one indexed query.
    contact = models.ForeignKey("crmcore.Contact", on_delete=models.CASCADE, related_name="+")
    occurred_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64)
    polarity = models.FloatField()
    subjectivity = models.FloatField()
    tone = models.CharField(max_length=20, choices=TONE_CHOICES)
    base_tone = models.CharField(
        max_length=20, choices=TONE_CHOICES, help_text="TextBlob's tone before a learned model."
    )
    explanation = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=250, blank=True)
    model_version = models.PositiveIntegerField(null=True, blank=True)
    analyzed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["workspace", "contact", "occurred_at"], name="sentiment_ws_contact"
            ),
            models.Index(fields=["workspace", "tone"], name="sentiment_ws_tone"),
        ]

    def __str__(self) -> str:
        return f"{self.tone} ({self.polarity:+.2f}) for interaction {self.interaction_id}"


class ToneCorrection(models.Model):
    """A user's correction of a tone: who, when, from which tone to which.

    Keeps the text it was made on, so that a later edit of the interaction does
    not change what the model learned from. ``from_tone == to_tone`` confirms
    a tone. Never updated.
    """

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    interaction = models.ForeignKey(
        "crmcore.Interaction", on_delete=models.CASCADE, related_name="tone_corrections"
    )
    text = models.TextField()
    from_tone = models.CharField(max_length=20, choices=TONE_CHOICES)
    to_tone = models.CharField(max_length=20, choices=TONE_CHOICES)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "created_at"], name="tonecorr_ws_created")]

    def __str__(self) -> str:
        return f"{self.from_tone} -> {self.to_tone} on interaction {self.interaction_id}"


class SentimentModel(models.Model):
    """A workspace's learned tone model and its card.

    Accuracy before (TextBlob alone) and after (the blend) is measured on
    corrections held out from training. A version is published (made
    active) only when it does at least as well as TextBlob alone.
    """

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    artifact = models.CharField(max_length=300, help_text="Path in the default storage.")
    is_active = models.BooleanField(default=False)
    trained_on = models.PositiveIntegerField(help_text="Corrections used for training.")
    held_out = models.PositiveIntegerField(help_text="Corrections used for evaluation.")
    accuracy_before = models.FloatField()
    accuracy_after = models.FloatField()
    macro_f1_before = models.FloatField()
    macro_f1_after = models.FloatField()
    blend_weight = models.FloatField()
    data_from = models.DateTimeField(null=True, blank=True)
    data_to = models.DateTimeField(null=True, blank=True)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "version"], name="sentiment_model_version_per_ws"
            ),
            models.UniqueConstraint(
                fields=["workspace"],
                condition=models.Q(is_active=True),
                name="one_active_sentiment_model_per_ws",
            ),
        ]

    def __str__(self) -> str:
        return f"Sentiment model v{self.version}"


class SentimentAlert(models.Model):
    """A contact whose recent tone fell below their own baseline."""

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        "crmcore.Contact", on_delete=models.CASCADE, related_name="sentiment_alerts"
    )
    baseline_polarity = models.FloatField()
    recent_polarity = models.FloatField()
    recent_count = models.PositiveIntegerField()
    baseline_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["workspace", "acknowledged_at"], name="sentalert_ws_open"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["contact"],
                condition=models.Q(acknowledged_at__isnull=True),
                name="one_open_sentiment_alert_per_contact",
            )
        ]

    def __str__(self) -> str:
        return f"Sentiment drop for contact {self.contact_id}"

    @property
    def drop(self) -> float:
        return self.baseline_polarity - self.recent_polarity
