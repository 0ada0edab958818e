"""What a capability declares about its background work (see ``ai_features.scheduling``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Job:
    """A background job of a capability: ``task`` is the dotted path of its Celery task.

    A gated job (the default) is a ``capability_task`` run per workspace where
    the gate for jobs allows it. ``gated=False`` is for a job that asks the gate
    for the user it works for (a campaign build is a plain mail merge where
    personalization is off for its author).
    """

    name: str
    task: str
    description: str = ""
    gated: bool = True


@dataclass(frozen=True)
class Schedule:
    """A periodic job: runs the capability's ``job`` for every workspace it may run in.

    ``cron`` is five crontab fields (minute hour day-of-month month day-of-week),
    in the project's time zone.
    """

    name: str
    job: str
    cron: str
    description: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)

    def cron_fields(self) -> dict[str, str]:
        parts = self.cron.split()
        if len(parts) != 5:
            raise ValueError(f"Schedule {self.name!r}: cron needs 5 fields, got {self.cron!r}")
        keys = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
        return dict(zip(keys, parts, strict=True))


@dataclass(frozen=True)
class Outcome:
    """A CRM outcome a capability should move, measured per user over time.

    ``rows`` is the dotted path of ``fn(*, workspace, since, until)`` returning
    ``(user_id, when, value)`` observations of the production workspace: a
    closed deal (1 won, 0 lost), a sent campaign message (1 replied), an
    urgent message (hours to answer). The rollout evidence compares users
    exposed to the capability with users not yet exposed, before and after.
    ``unit`` is ``"points"`` for a rate in 0..1 (shown in percentage points)
    or a word for a quantity (``"hours"``); ``who`` names the users ("reps")
    and ``events`` the observations ("closed deals").
    """

    name: str
    label: str
    rows: str
    unit: str = "points"
    higher_is_better: bool = True
    who: str = "reps"
    events: str = "events"


@dataclass(frozen=True)
class Guardrail:
    """A rate that must stay low while a capability is widened.

    ``kind`` is one the kit measures over the production workspace:
    ``"job_errors"`` (failed share of the capability's job runs),
    ``"dismissals"`` (dismissed share of users' responses to its suggestions)
    or ``"complaints"`` (reported share of them). Above ``limit`` a release
    plan pauses; above ``severe`` it rolls back. Fewer than ``min_count``
    runs or responses measure nothing yet.
    """

    kind: str
    label: str
    limit: float
    severe: float
    min_count: int = 20


#: The guardrails every capability has unless it declares its own.
DEFAULT_GUARDRAILS = (
    Guardrail("job_errors", "Job error rate", limit=0.05, severe=0.25),
    Guardrail("dismissals", "Dismiss rate", limit=0.6, severe=0.85),
    Guardrail("complaints", "Complaint rate", limit=0.02, severe=0.1),
)


PLAN_JOB = "release_plan"


def plan_declarations(capability: str) -> tuple[Job, Schedule]:
    """The job and daily schedule of a capability's release plan (``ai_features.plans``).

    The capability lists both (in ``jobs()`` and ``schedules()``) and binds the
    task in its ``tasks`` module: ``release_plan_task = plan_task("<key>")``.
    """
    return (
        Job(
            PLAN_JOB,
            f"ai_features.capabilities.{capability}.tasks.release_plan_task",
            description="Check the release plan's criteria; advance, pause or roll back.",
        ),
        Schedule(
            "release plan",
            job=PLAN_JOB,
            cron="0 7 * * *",
            description="Advance, pause or roll back the release plan on the evidence.",
        ),
    )
