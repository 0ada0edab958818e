"""The bottom of the capability kit: what a capability is and declares.

The ``Capability`` base class, the ``Job``/``Schedule``/``Audience``
declarations and ``installed``, the capabilities installed so far. It imports
nothing of the kit: the gate resolves capabilities here, and
``ai_features.registry`` (which puts every contribution behind the gate)
fills ``installed``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from crmcore import extensions

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")

#: Who asks the gate: a request's user (signed in or not); None in a job.
AnyUser = AbstractBaseUser | AnonymousUser


class CapabilityError(ValueError):
    """A capability class that does not follow the contract."""


class Audience(StrEnum):
    """Who a surface is for (see ``ai_features.surfaces``)."""

    PILOT = "pilot"
    GOVERNANCE = "governance"
    SIGNED_IN = "signed_in"


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


class Capability:
    """Base class of every AI capability. Subclasses end in ``Capability``.

    Everything it contributes is declared by the methods below and installed by
    the registry behind the gate (``ai_features.surfaces``). ``ready()`` may wire
    listeners, but registering a surface there directly is refused: that would
    bypass the gate.
    """

    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: The waffle flag behind it; defaults to ``ai_<key>``.
    flag_name: ClassVar[str] = ""
    #: Slug of the training_sandbox lesson that teaches it (None: no lesson yet).
    lesson: ClassVar[str | None] = None
    #: Events it emits: name -> description.
    events: ClassVar[dict[str, str]] = {}
    #: Dotted path of its facade class (what other capabilities may read), if any.
    facade: ClassVar[str | None] = None
    #: Audience of a nav item (by key) that is not for pilot users only.
    nav_audience: ClassVar[dict[str, Audience]] = {}
    #: Jobs (declared in ``jobs()``) that make a new or reset training sandbox
    #: ready for this capability, run in this order ...
    prepare_jobs: ClassVar[tuple[str, ...]] = ()
    #: ... after those of capabilities with a lower number (tone before churn).
    prepare_order: ClassVar[int] = 100

    def panels(self) -> list[extensions.ContactPanel]:
        """Contact page panels, rendered only where the gate says yes."""
        return []

    def deal_panels(self) -> list[extensions.DealPanel]:
        """Deal page panels, rendered only where the gate says yes."""
        return []

    def deal_badges(self) -> list[extensions.DealBadgeProvider]:
        """Badges on pipeline cards, given only where the gate says yes."""
        return []

    def contact_columns(self) -> list[extensions.ContactColumn]:
        """Contact list columns (with their filter and sort), only where the gate says yes."""
        return []

    def pages(self) -> list[extensions.PageUrls]:
        """HTML URLconfs; every view in them is put behind the gate."""
        return []

    def nav_items(self) -> list[extensions.NavItem]:
        """Header links, shown where the gate (or ``nav_audience``) says so."""
        return []

    def api_routes(self) -> list[extensions.ApiRoute]:
        """API routes under /api/v1/; every view gets ``CapabilityPermission``."""
        return []

    def api_fields(self) -> list[extensions.ApiFieldProvider]:
        """Extra fields on API items (and exports), filled only where the gate says yes."""
        return []

    def jobs(self) -> list[Job]:
        """Background jobs, queued with ``scheduling.job_queue``."""
        return []

    def schedules(self) -> list[Schedule]:
        """Periodic jobs (Celery beat, or ``manage.py run_due_jobs``)."""
        return []

    def outcomes(self) -> list[Outcome]:
        """CRM outcomes it should move: the rollout evidence estimates its effect on each."""
        return []

    def guardrails(self) -> list[Guardrail]:
        """Rates a release plan keeps within bounds (job errors, dismissals, complaints)."""
        return list(DEFAULT_GUARDRAILS)

    def ready(self) -> None:
        """Wire anything else (event listeners). No database access, no surfaces."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key!r}>"


class InstalledCapabilities:
    """Capabilities by key, in the order they were installed (storage only).

    ``ai_features.registry`` validates a capability and installs its
    contributions before adding it here.
    """

    def __init__(self) -> None:
        self._capabilities: dict[str, Capability] = {}

    def add(self, capability: Capability) -> None:
        self._capabilities[capability.key] = capability

    def remove(self, key: str) -> Capability | None:
        return self._capabilities.pop(key, None)

    def find(self, key: str) -> Capability | None:
        return self._capabilities.get(key)

    def get(self, key: str) -> Capability:
        try:
            return self._capabilities[key]
        except KeyError:
            known = ", ".join(sorted(self._capabilities)) or "none"
            raise KeyError(f"Unknown capability {key!r} (known: {known})") from None

    def resolve(self, capability: str | Capability | type[Capability]) -> Capability:
        """A key, a Capability or its class -> the installed Capability."""
        if isinstance(capability, Capability):
            return capability
        if isinstance(capability, type) and issubclass(capability, Capability):
            return self.get(capability.key)
        return self.get(capability)

    def keys(self) -> list[str]:
        return list(self._capabilities)

    def __iter__(self) -> Iterator[Capability]:
        return iter(list(self._capabilities.values()))

    def __contains__(self, key: object) -> bool:
        return key in self._capabilities

    def __len__(self) -> int:
        return len(self._capabilities)


#: How the kit's functions name a capability: its key, the installed object or its class.
CapabilityRef = str | Capability | type[Capability]

#: The capabilities the project installed (``ai_features.registry.registry`` fills it).
installed = InstalledCapabilities()
