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
