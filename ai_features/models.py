from django.conf import settings
from django.db import models
from django.utils import timezone
from waffle.models import AbstractUserFlag


class Flag(AbstractUserFlag):
    """The waffle flag behind each AI capability, with pilot teams."""

    teams = models.ManyToManyField(
        "crmcore.Team",
        blank=True,
        related_name="ai_flags",
        help_text="Activate this flag for the members of these teams.",
    )

    class Meta(AbstractUserFlag.Meta):
        verbose_name = "flag"
        verbose_name_plural = "flags"


class SuggestionEvent(models.Model):
    """One AI suggestion shown to, accepted, dismissed or corrected by a user.

    The raw material of the pilot metrics. Written in bulk (see
    ``ai_features.services.suggestion_events_record``); never updated.
    """

    class Action(models.TextChoices):
        SHOWN = "shown", "Shown"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"
        CORRECTED = "corrected", "Corrected"

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    capability = models.CharField(max_length=40)
    action = models.CharField(max_length=20, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey("crmcore.Team", null=True, on_delete=models.SET_NULL, related_name="+")
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["capability", "action", "created_at"], name="suggestion_cap_action"
            ),
            models.Index(
                fields=["workspace", "object_type", "object_id"], name="suggestion_object"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.capability} {self.action} {self.object_type}#{self.object_id}"


class JobRun(models.Model):
    """A background job's run: its progress, outcome and error, for the UI and readiness."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=80)
    capability = models.CharField(max_length=40, blank=True)
    workspace = models.ForeignKey(
        "crmcore.Workspace", null=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["capability", "status"], name="jobrun_cap_status")]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))
