from __future__ import annotations

from decimal import Decimal
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
        REPORTED = "reported", "Reported as wrong or offensive"

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


class Exposure(models.Model):
    """When a user first had a capability on in production, and the rule that said so.

    Written once per user and capability by the gate (``gate.is_enabled``,
    after the transaction commits, ``ON CONFLICT DO NOTHING``); never in a
    training sandbox. The rollout evidence compares exposed users with users
    not yet exposed, before and after ``first_at``.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    capability = models.CharField(max_length=40)
    first_at = models.DateTimeField(default=timezone.now)
    rule = models.CharField(max_length=80, help_text="The flag rule that said yes.")

    class Meta:
        ordering = ["capability", "first_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "capability"], name="exposure_once_per_user")
        ]
        indexes = [models.Index(fields=["capability", "first_at"], name="exposure_cap_first")]

    def __str__(self) -> str:
        return f"{self.capability} for user #{self.user_id} since {self.first_at:%Y-%m-%d}"


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


AUDIT_LABELS = {
    "phase": "Phase",
    "everyone": "Everyone",
    "percent": "Percent",
    "teams": "Teams",
    "users": "Users",
    "groups": "Groups",
    "staff": "Staff",
    "superusers": "Superusers",
    "authenticated": "Every signed-in user",
    "requires_training": "Requires the lesson",
    "active": "Kill switch",
    "exists": "Exists",
    "plan": "Plan",
    "status": "Status",
    "milestones": "Milestones",
}


def _audit_value(key: str, value: Any) -> str:
    if value is None or value == [] or value == "":
        return "none"
    if key == "active" and isinstance(value, bool):
        return "on" if value else "off"
    if key == "everyone" and value is False:
        return "off for everyone"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if key == "percent":
        try:
            return f"{Decimal(str(value)).normalize():f}"
        except ArithmeticError:
            return str(value)
    return str(value)


def audit_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """``Label: old → new`` for every key whose value differs, in a fixed order."""
    keys = [k for k in AUDIT_LABELS if k in before or k in after]
    keys += sorted(k for k in {*before, *after} if k not in AUDIT_LABELS)
    lines = []
    for key in keys:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        label = AUDIT_LABELS.get(key, key.replace("_", " ").capitalize())
        lines.append(f"{label}: {_audit_value(key, old)} → {_audit_value(key, new)}")
    return lines


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
        PLAN = "plan", "Release plan"

    class Action(models.TextChoices):
        PHASE = "phase", "Phase set"
        FLAG_EDIT = "flag_edit", "Flag edited"
        FLAG_DELETE = "flag_delete", "Flag deleted"
        KILL_SWITCH = "kill_switch", "Kill switch"
        PLAN = "plan", "Release plan"

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

    @property
    def changes(self) -> list[str]:
        """Readable differences, e.g. ``Percent: none → 25`` (only what changed)."""
        return audit_changes(self.before or {}, self.after or {})


class ReleasePlan(models.Model):
    """A capability's way to everyone: ordered milestones, each held until its criteria hold.

    A scheduled job (``ai_features.plans.plan_check``) advances an active plan
    whose criteria hold, pauses it (and tells its owners) when one fails, and
    rolls it back a milestone on a severe guardrail breach. Admins pause,
    resume or skip with a reason. Every step is a ``PlanStep`` and an audit entry.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        DONE = "done", "Done"

    capability = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    #: Index of the current milestone (in ``position`` order); -1 before the first.
    current = models.SmallIntegerField(default=-1)
    milestone_started_at = models.DateTimeField(null=True, blank=True)
    pilot_teams = models.JSONField(default=list, blank=True, help_text="Production team names.")
    min_trained_share = models.FloatField(
        null=True, blank=True, help_text="Share of target users who passed the lesson (0..1)."
    )
    owners = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["capability"]

    def __str__(self) -> str:
        return f"Release plan of {self.capability}"


class Milestone(models.Model):
    """One step of a plan: the pilot teams (no percent), a percentage, or everyone (100)."""

    plan = models.ForeignKey(ReleasePlan, on_delete=models.CASCADE, related_name="milestones")
    position = models.PositiveSmallIntegerField()
    percent = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    min_days = models.PositiveSmallIntegerField(default=7)

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="milestone_position")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        if self.percent is None:
            return "Pilot teams"
        if self.percent >= 100:
            return "Everyone"
        return f"{self.percent.normalize():f}% of users"


class PlanStep(models.Model):
    """What happened to a plan: started, advanced, paused, rolled back, resumed, skipped."""

    class Kind(models.TextChoices):
        START = "start", "Started"
        ADVANCE = "advance", "Advanced"
        PAUSE = "pause", "Paused"
        ROLLBACK = "rollback", "Rolled back"
        RESUME = "resume", "Resumed"
        SKIP = "skip", "Skipped a milestone"
        DONE = "done", "Reached everyone"

    plan = models.ForeignKey(ReleasePlan, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_milestone = models.CharField(max_length=40, blank=True)
    to_milestone = models.CharField(max_length=40, blank=True)
    #: Blank: the plan itself (the scheduled job) took the step.
    actor_username = models.CharField(max_length=150, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    evidence = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.plan.capability}: {self.get_kind_display()} at {self.at:%Y-%m-%d}"
