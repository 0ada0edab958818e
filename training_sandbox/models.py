"""Training sandbox: per-trainee sandbox settings, lesson progress and activity.

The sandbox itself is a ``crmcore.Workspace`` of kind ``sandbox`` (one per
owner); ``Sandbox`` keeps what is needed to rebuild it (its size). Progress is
per trainee and survives a reset or a delete of the sandbox: a passed lesson
stays passed. What a sandbox would have sent is crmcore's ``OutboundRecord``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Sandbox(models.Model):
    """How a sandbox workspace was generated, so that a reset rebuilds it the same."""

    workspace = models.OneToOneField(
        "crmcore.Workspace", on_delete=models.CASCADE, related_name="sandbox_settings"
    )
    contacts = models.PositiveIntegerField(help_text="Contacts generated.")
    created_at = models.DateTimeField(auto_now_add=True)
    reset_at = models.DateTimeField(null=True, blank=True)
    generation_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "sandboxes"

    def __str__(self) -> str:
        return f"{self.workspace} ({self.contacts} contacts, seed {self.workspace.seed})"


class LessonProgress(models.Model):
    """A trainee's progress on one lesson: started, last checked, passed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress"
    )
    lesson = models.SlugField(max_length=80)
    workspace = models.ForeignKey(
        "crmcore.Workspace",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The sandbox the lesson was last done in.",
    )
    started_at = models.DateTimeField()
    checked_at = models.DateTimeField(null=True, blank=True)
    passed_at = models.DateTimeField(null=True, blank=True)
    missing = models.JSONField(
        default=list, blank=True, help_text="What the last check found still missing."
    )
    answers = models.JSONField(
        default=dict,
        blank=True,
        help_text="The knowledge check: question key -> index of the chosen answer.",
    )

    class Meta:
        ordering = ["user_id", "lesson"]
        constraints = [
            models.UniqueConstraint(fields=["user", "lesson"], name="lesson_progress_per_user")
        ]
        indexes = [models.Index(fields=["lesson", "passed_at"], name="lesson_progress_passed")]
        verbose_name_plural = "lesson progress"

    def __str__(self) -> str:
        return f"{self.user} · {self.lesson}"

    @property
    def passed(self) -> bool:
        return self.passed_at is not None


class SandboxEvent(models.Model):
    """A domain event that happened in a sandbox (what lessons check besides rows)."""

    workspace = models.ForeignKey("crmcore.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "name", "created_at"], name="sandbox_event")]

    def __str__(self) -> str:
        return self.name


class CapabilityNotice(models.Model):
    """A user dismissed the notice that a capability reached them (shown once)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    capability = models.CharField(max_length=50)
    dismissed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user_id", "capability"]
        constraints = [
            models.UniqueConstraint(fields=["user", "capability"], name="capability_notice_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.capability}"
