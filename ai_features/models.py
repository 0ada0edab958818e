from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import models
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy
from waffle.models import AbstractUserFlag

from ai_features import flag_cache
from ai_features.flag_rules import FlagSnapshot, flag_rule, in_percentage


class Flag(AbstractUserFlag):
    """The waffle flag behind each AI capability, with pilot teams.

    Differs from waffle's flag in two ways: it is also on for the members of
    its ``teams``, and its percentage is sticky (a hash of flag name and user
    id instead of a random cookie). Flag members (users, teams, groups) and
    each user's team and group ids are cached, so a warm check makes no
    database query; membership changes flush them (``ai_features.signals``).
    """

    teams = models.ManyToManyField(
        "crmcore.Team",
        blank=True,
        related_name="ai_flags",
        help_text="Activate this flag for the members of these teams.",
    )
    superusers = models.BooleanField(
        default=False,
        help_text="Flag always active for superusers?",
        verbose_name="Superusers",
    )
    requires_training = models.BooleanField(
        default=False,
        help_text="Active only for users who passed the capability's lesson.",
    )

    class Meta(AbstractUserFlag.Meta):
        verbose_name = gettext_lazy("flag")
        verbose_name_plural = gettext_lazy("flags")

    # -- caches (loaders in ai_features.flag_cache) --------------------------

    def members_cache_key(self) -> str:
        return flag_cache.members_cache_key(self.name)

    def get_flush_keys(self, flush_keys: list[str] | None = None) -> list[str]:
        flush_keys = super().get_flush_keys(flush_keys)
        flush_keys.append(flag_cache.members_cache_key(self.name))
        flush_keys.append(flag_cache.snapshot_cache_key(self.name))
        return flush_keys

    def _members_and_memberships(
        self, user_id: Any
    ) -> tuple[flag_cache.Members, flag_cache.Members | None]:
        return flag_cache.members_and_memberships(self, user_id)

    def _get_user_ids(self) -> set[Any]:
        return set(self._members_and_memberships(None)[0]["users"])

    def _get_group_ids(self) -> set[Any]:
        return set(self._members_and_memberships(None)[0]["groups"])

    def _get_team_ids(self) -> set[Any]:
        return set(self._members_and_memberships(None)[0]["teams"])

    def snapshot(self, members: flag_cache.Members) -> FlagSnapshot:
        return flag_cache.snapshot(self, members)

    @classmethod
    def gate_data(cls, name: str, user_id: Any) -> tuple[FlagSnapshot, flag_cache.Members | None]:
        """The flag's snapshot and the user's memberships, for the gate (cached)."""
        return flag_cache.gate_data(cls, name, user_id)

    @classmethod
    def snapshot_get(cls, name: str) -> FlagSnapshot:
        """The flag's snapshot alone (for decisions without a user), cached like the gate's."""
        return flag_cache.snapshot_get(cls, name)

    # -- evaluation (rules in ai_features.flag_rules) -------------------------

    def is_active_for_user(self, user: AbstractBaseUser) -> bool | None:
        """waffle's per-user question, answered by ``flag_rule`` (teams, sticky percent)."""
        if self.everyone is not None:
            return self.everyone
        if not self.pk or user is None or not getattr(user, "is_authenticated", False):
            return None
        members, memberships = self._members_and_memberships(user.pk)
        return flag_rule(self, members, memberships, user)

    def _is_active_for_percent(self, request: HttpRequest, read_only: bool) -> bool | None:
        """Sticky: the bucket of the request's user, never a random cookie."""
        user = getattr(request, "user", None)
        if self.percent and user is not None and getattr(user, "is_authenticated", False):
            return in_percentage(self.name, user.pk, self.percent) or None
        return None


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
        EDITED = "edited", "Edited"

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
        INTERRUPTED = "interrupted", "Interrupted"

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
    # Written as the job advances; a running run whose heartbeat stopped is
    # interrupted by the reaper (ai_features.jobs.job_runs_reap).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The Celery task that ran it, so the reaper can queue it again under the
    # same id (blank when it ran outside a task, e.g. from a command).
    task_name = models.CharField(max_length=200, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    task_args = models.JSONField(default=list, blank=True)
    task_kwargs = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=100, blank=True)
    # The worker process ("node:pid") running its latest attempt.
    worker = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["capability", "status"], name="jobrun_cap_status"),
            models.Index(fields=["status", "heartbeat_at"], name="jobrun_status_heartbeat"),
            models.Index(fields=["task_id"], name="jobrun_task_id"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The rollout audit log is append-only")

    def delete(self):
        raise PermissionError("The rollout audit log is append-only")


class RolloutAuditEntry(models.Model):
    """One change to a capability's rollout or the kill switch. Append-only.

    Written by ``ai_features.services`` for the dashboard, API and CLI, and by
    the admin for edits of flags and the kill switch. Never updated or deleted.
    """

    class Source(models.TextChoices):
        DASHBOARD = "dashboard", "Dashboard"
        API = "api", "API"
        CLI = "cli", "CLI"
        ADMIN = "admin", "Admin"

    class Action(models.TextChoices):
        PHASE = "phase", "Phase set"
        FLAG_EDIT = "flag_edit", "Flag edited"
        FLAG_DELETE = "flag_delete", "Flag deleted"
        KILL_SWITCH = "kill_switch", "Kill switch"

    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    actor_username = models.CharField(max_length=150, blank=True, editable=False)
    source = models.CharField(max_length=20, choices=Source.choices, editable=False)
    action = models.CharField(max_length=20, choices=Action.choices, editable=False)
    capability = models.CharField(max_length=40, blank=True, editable=False)
    target = models.CharField(
        max_length=100, blank=True, editable=False, help_text="The flag or switch name."
    )
    before = models.JSONField(default=dict, blank=True, editable=False)
    after = models.JSONField(default=dict, blank=True, editable=False)
    reason = models.TextField(blank=True, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "rollout audit entry"
        verbose_name_plural = "rollout audit log"
        indexes = [models.Index(fields=["capability", "-created_at"], name="audit_cap_created")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("The rollout audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise PermissionError("The rollout audit log is append-only")
