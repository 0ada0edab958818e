"""Reads of the ai_features app: rollout overview, pilot metrics, readiness, audit log.

Everything the rollout dashboard, API and CLI show comes from
``rollout_overview()``, which reads all capabilities in a fixed number of
queries (independent of how many capabilities, teams or events there are).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone
from waffle import get_waffle_flag_model, get_waffle_switch_model

from ai_features import gate
from ai_features.conf import app_settings
from ai_features.evidence import CapabilityEvidence, evidence_all
from ai_features.models import JobRun, RolloutAuditEntry, SuggestionEvent
from ai_features.registry import registry
from ai_features.services import flag_state, phase_of
from crmcore.models import Team, Workspace

#: Weeks shown in the rollout dashboard's acceptance trend.
DASHBOARD_WEEKS = 8
RESPONSES = (
    SuggestionEvent.Action.ACCEPTED,
    SuggestionEvent.Action.DISMISSED,
    SuggestionEvent.Action.CORRECTED,
    SuggestionEvent.Action.EDITED,
    SuggestionEvent.Action.REPORTED,
)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class WeekPoint:
    week: dt.date
    shown: int
    responses: int
    accepted: int

    @property
    def acceptance_rate(self) -> float | None:
        return _rate(self.accepted, self.responses)


@dataclass(frozen=True)
class ReadinessCheck:
    label: str
    value: float | None
    threshold: float
    passed: bool | None  # None: not applicable yet ("n/a")
    higher_is_better: bool = True

    @property
    def display(self) -> str:
        return "n/a" if self.value is None else f"{self.value:.0%}"


@dataclass(frozen=True)
class CapabilityRollout:
    key: str
    title: str
    description: str
    flag_name: str
    phase: str
    everyone: bool | None
    percent: Decimal | None
    teams: list[str]
    users: list[str]
    groups: list[str]
    requires_training: bool
    shown: int = 0
    responses: int = 0
    accepted: int = 0
    weekly: list[WeekPoint] = field(default_factory=list)
    evidence: CapabilityEvidence | None = None
    readiness: list[ReadinessCheck] = field(default_factory=list)

    @property
    def acceptance_rate(self) -> float | None:
        return _rate(self.accepted, self.responses)

    @property
    def ready_to_widen(self) -> bool:
        return all(check.passed is not False for check in self.readiness) and any(
            check.passed for check in self.readiness
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "flag": self.flag_name,
            "phase": self.phase,
            "everyone": self.everyone,
            "percent": float(self.percent) if self.percent is not None else None,
            "teams": self.teams,
            "users": self.users,
            "groups": self.groups,
            "requires_training": self.requires_training,
            "suggestions_shown": self.shown,
            "acceptance_rate": self.acceptance_rate,
            "weekly": [
                {
                    "week": p.week.isoformat(),
                    "shown": p.shown,
                    "acceptance_rate": p.acceptance_rate,
                }
                for p in self.weekly
            ],
            "outcomes": [
                {
                    "name": o.outcome.name,
                    "label": o.outcome.label,
                    "effect": o.estimate.effect,
                    "low": o.estimate.low,
                    "high": o.estimate.high,
                    "exposed_users": o.estimate.exposed_users,
                    "control_users": o.estimate.control_users,
                    "events": o.estimate.events,
                    "enough": o.estimate.enough,
                    "sentence": o.sentence,
                }
                for o in (self.evidence.outcomes if self.evidence else [])
            ],
            "readiness": [
                {"label": c.label, "value": c.value, "threshold": c.threshold, "passed": c.passed}
                for c in self.readiness
            ],
        }


@dataclass(frozen=True)
class RolloutOverview:
    kill_switch: bool
    capabilities: list[CapabilityRollout]


def kill_switch_is_on() -> bool:
    switch = get_waffle_switch_model().objects.filter(name=gate.KILL_SWITCH).first()
    return bool(switch and switch.active)


def _flags_by_name() -> dict[str, Any]:
    names = [cap.flag_name for cap in registry]
    flags = (
        get_waffle_flag_model()
        .objects.filter(name__in=names)
        .prefetch_related("teams", "users", "groups")
    )
    return {flag.name: flag for flag in flags}


def _state(flag) -> dict[str, Any]:
    """flag_state from the prefetched relations (no extra queries)."""
    if flag is None:
        return {"exists": False}
    return {
        "everyone": flag.everyone,
        "percent": str(flag.percent) if flag.percent is not None else None,
        "users": sorted(u.get_username() for u in flag.users.all()),
        "teams": sorted(t.name for t in flag.teams.all()),
        "groups": sorted(g.name for g in flag.groups.all()),
        "requires_training": flag.requires_training,
    }


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


#: Pilot evidence counts production only: practice in a training sandbox is not evidence.
PRODUCTION = Q(workspace__kind=Workspace.Kind.PRODUCTION)


def _event_counts(weeks: int):
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    events = SuggestionEvent.objects.filter(PRODUCTION)
    for row in events.values("capability", "action").annotate(n=Count("id")):
        totals[row["capability"]][row["action"]] += row["n"]
    today = timezone.localdate()
    first_week = _week_start(today) - dt.timedelta(weeks=weeks - 1)
    since = timezone.make_aware(dt.datetime.combine(first_week, dt.time.min))
    weekly: dict[str, dict[dt.date, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    rows = (
        events.filter(created_at__gte=since)
        .annotate(week=TruncWeek("created_at"))
        .values("capability", "week", "action")
        .annotate(n=Count("id"))
    )
    for row in rows:
        week = row["week"]
        week = week.date() if isinstance(week, dt.datetime) else week
        weekly[row["capability"]][week][row["action"]] += row["n"]
    week_starts = [first_week + dt.timedelta(weeks=i) for i in range(weeks)]
    return totals, weekly, week_starts


def _job_counts(days: int) -> dict[str, tuple[int, int]]:
    since = timezone.now() - dt.timedelta(days=days)
    rows = (
        JobRun.objects.filter(PRODUCTION, started_at__gte=since)
        .exclude(status=JobRun.Status.RUNNING)
        .values("capability")
        .annotate(total=Count("id"), failed=Count("id", filter=Q(status=JobRun.Status.FAILED)))
    )
    return {row["capability"]: (row["failed"], row["total"]) for row in rows}


def _team_members(team_ids: set[int]) -> dict[int, set[int]]:
    members: dict[int, set[int]] = defaultdict(set)
    if team_ids:
        for team_id, user_id in Team.members.through.objects.filter(
            team_id__in=team_ids
        ).values_list("team_id", "user_id"):
            members[team_id].add(user_id)
    return members


def rollout_overview(*, weeks: int | None = None) -> RolloutOverview:
    """Every registered capability's phase, audience, pilot metrics and readiness."""
    weeks = weeks or DASHBOARD_WEEKS
    flags = _flags_by_name()
    totals, weekly, week_starts = _event_counts(weeks)
    jobs = _job_counts(app_settings.READINESS_JOB_WINDOW_DAYS)
    pilot_team_ids: set[int] = set()
    for flag in flags.values():
        pilot_team_ids |= {t.pk for t in flag.teams.all()}
    members = _team_members(pilot_team_ids)
    pilots: dict[str, set[int]] = {}
    percentages: dict[str, tuple[Decimal, set[int]]] = {}
    for cap in registry:
        flag = flags.get(cap.flag_name)
        if flag is None:
            continue
        team_ids = {t.pk for t in flag.teams.all()}
        pilot = set().union(*(members[t] for t in team_ids)) if team_ids else set()
        pilots[cap.key] = pilot | {u.pk for u in flag.users.all()}
        if phase_of(_state(flag)) == "percentage":
            percentages[cap.key] = (flag.percent, pilots[cap.key])
    evidence = evidence_all(percentages=percentages)

    capabilities = []
    for cap in registry:
        flag = flags.get(cap.flag_name)
        state = _state(flag)
        counts = totals.get(cap.key, {})
        shown = counts.get(SuggestionEvent.Action.SHOWN, 0)
        accepted = counts.get(SuggestionEvent.Action.ACCEPTED, 0)
        responses = sum(counts.get(a, 0) for a in RESPONSES)
        cap_weeks = weekly.get(cap.key, {})
        points = []
        for start in week_starts:
            w = cap_weeks.get(start, {})
            points.append(
                WeekPoint(
                    week=start,
                    shown=w.get(SuggestionEvent.Action.SHOWN, 0),
                    responses=sum(w.get(a, 0) for a in RESPONSES),
                    accepted=w.get(SuggestionEvent.Action.ACCEPTED, 0),
                )
            )

        pilot_users = pilots.get(cap.key, set())

        acceptance = _rate(accepted, responses)
        failed, total_jobs = jobs.get(cap.key, (0, 0))
        error_rate = _rate(failed, total_jobs)
        min_responses = app_settings.READINESS_MIN_RESPONSES
        min_acceptance = app_settings.READINESS_MIN_ACCEPTANCE_RATE
        max_errors = app_settings.READINESS_MAX_JOB_ERROR_RATE
        min_trained = app_settings.READINESS_MIN_TRAINED_SHARE
        trained = gate.training_share(pilot_users, cap.key)
        readiness = [
            ReadinessCheck(
                label=f"Pilot acceptance rate (at least {min_responses} responses)",
                value=acceptance,
                threshold=min_acceptance,
                passed=(
                    acceptance is not None
                    and responses >= min_responses
                    and acceptance >= min_acceptance
                ),
            ),
            ReadinessCheck(
                label="Error rate of its jobs",
                value=error_rate,
                threshold=max_errors,
                passed=None if error_rate is None else error_rate <= max_errors,
                higher_is_better=False,
            ),
            ReadinessCheck(
                label="Target users who passed its lesson",
                value=trained,
                threshold=min_trained,
                passed=None if trained is None else trained >= min_trained,
            ),
        ]
        capabilities.append(
            CapabilityRollout(
                key=cap.key,
                title=cap.title,
                description=cap.description,
                flag_name=cap.flag_name,
                phase=phase_of(state),
                everyone=state.get("everyone"),
                percent=flag.percent if flag is not None else None,
                teams=state.get("teams", []),
                users=state.get("users", []),
                groups=state.get("groups", []),
                requires_training=bool(state.get("requires_training")),
                shown=shown,
                responses=responses,
                accepted=accepted,
                weekly=points,
                evidence=evidence[cap.key],
                readiness=readiness,
            )
        )
    return RolloutOverview(kill_switch=kill_switch_is_on(), capabilities=capabilities)


def capability_status(*, key: str) -> dict[str, Any]:
    """One capability's flag state and phase (for the CLI and API answers)."""
    cap = registry.get(key)
    flag = get_waffle_flag_model().objects.filter(name=cap.flag_name).first()
    state = flag_state(flag)
    return {"key": cap.key, "phase": phase_of(state), **state}


def audit_entry_list(*, capability: str | None = None, limit: int | None = None):
    qs = RolloutAuditEntry.objects.all().order_by("-created_at", "-id")
    if capability:
        qs = qs.filter(capability=capability)
    return qs[:limit] if limit else qs
