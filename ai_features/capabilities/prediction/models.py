"""Model versions, per-contact scores, bias audits and sensitive attributes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def artifact_path(instance: ModelVersion, filename: str) -> str:
    return f"prediction/models/ws{instance.workspace_id}/v{instance.number}-{filename}"


class ModelVersion(models.Model):
    """One training run of a workspace's model of one kind: its model card.

    ``churn``: the churn and next-product models of customers; ``win``: the
    win probability of open deals. Each kind has its own numbers and its own
    live version.
    """

    class Kind(models.TextChoices):
        CHURN = "churn", "Churn"
        WIN = "win", "Deal win"

    class Status(models.TextChoices):
        PUBLISHED = "published", "Published"
        REJECTED = "rejected", "Rejected by the quality gate"
        INSUFFICIENT = "insufficient", "Too little history"
        RETIRED = "retired", "Retired"

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CHURN)
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices)
    is_live = models.BooleanField(default=False)
    trained_at = models.DateTimeField(default=timezone.now)
    as_of = models.DateTimeField(help_text="Features are computed as of this cutoff.")
    data_start = models.DateTimeField(null=True, blank=True)
    data_end = models.DateTimeField(null=True, blank=True)
    feature_names = models.JSONField(default=list, blank=True)
    coefficients = models.JSONField(default=list, blank=True)
    intercept = models.FloatField(default=0.0)
    metrics = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    artifact = models.FileField(upload_to=artifact_path, blank=True)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    #: The latest drift check (population stability per feature and of the
    #: score, live calibration, warnings): see ``drift.py``.
    drift = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "number"], name="prediction_version_kind_number"
            ),
            models.UniqueConstraint(
                fields=["workspace", "kind"],
                condition=Q(is_live=True),
                name="prediction_one_live_version_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} model v{self.number} ({self.get_status_display()})"

    @property
    def auc(self) -> float | None:
        return self.metrics.get("auc")


class ContactScore(models.Model):
    """The latest churn risk, its reasons, next products and action of one contact."""

    class Band(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        "crmcore.Contact", on_delete=models.CASCADE, related_name="prediction_scores"
    )
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="scores")
    probability = models.FloatField()
    log_odds = models.FloatField()
    band = models.CharField(max_length=10, choices=Band.choices)
    #: [[feature index, contribution, raw value], ...]: the largest contributions;
    #: ``rest`` holds the sum of the others so that everything adds up to log_odds.
    factors = models.JSONField(default=list)
    rest = models.FloatField(default=0.0)
    next_products = models.JSONField(default=list)
    next_action = models.JSONField(default=dict)
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-probability", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "contact"], name="prediction_score_contact"
            )
        ]
        indexes = [models.Index(fields=["workspace", "band"], name="prediction_score_band")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.probability:.2f}"


class BiasAudit(models.Model):
    """Outcomes of a published version across segments, on its held-out contacts."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="bias_audits"
    )
    created_at = models.DateTimeField(default=timezone.now)
    threshold = models.FloatField()
    groups = models.JSONField(default=list)
    warnings = models.JSONField(default=list)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Bias audit of {self.model_version}"


class SensitiveAttribute(models.Model):
    """A contact field or ``attributes`` key an admin marked as sensitive for bias audits."""

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100, help_text='"region", "segment" or an attributes key.')
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="prediction_sensitive_name")
        ]

    def __str__(self) -> str:
        return self.name


class ContactNextNeeds(models.Model):
    """The products one contact (any stage, with or without orders) likely needs next.

    ``needs``: ``[{"product_id", "product", "kind", "reason", "score"}, ...]``, best
    first; ``kind`` is reorder, sequence, together or popular (see ``next_needs``).
    Written in bulk by the next-needs job.
    """

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        "crmcore.Contact", on_delete=models.CASCADE, related_name="prediction_next_needs"
    )
    needs = models.JSONField(default=list)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "contact"], name="prediction_next_needs_contact"
            )
        ]

    def __str__(self) -> str:
        return f"Next needs of contact {self.contact_id}"


class DealScore(models.Model):
    """The latest win probability of one open deal and the factors behind it."""

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    deal = models.ForeignKey("crmcore.Deal", on_delete=models.CASCADE, related_name="win_scores")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="deal_scores"
    )
    probability = models.FloatField()
    log_odds = models.FloatField()
    #: [[feature index, contribution, raw value], ...] as ContactScore.factors.
    factors = models.JSONField(default=list)
    rest = models.FloatField(default=0.0)
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-probability", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "deal"], name="prediction_score_deal")
        ]
        indexes = [
            models.Index(fields=["workspace", "-probability"], name="prediction_deal_prob"),
        ]

    def __str__(self) -> str:
        return f"deal {self.deal_id}: {self.probability:.2f}"


class ScoreRefresh(models.Model):
    """A contact or deal whose score is due again after a change (an order, an
    interaction, a stage move): one row per object however many changes, drained
    in bulk by the ``refresh_scores`` job every minute."""

    class Kind(models.TextChoices):
        CONTACT = "contact", "Contact"
        DEAL = "deal", "Deal"

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField()
    queued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["queued_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "kind", "object_id"], name="prediction_refresh_object"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"
