"""One way to declare, queue and schedule a capability's background jobs.

* A capability lists its jobs in ``jobs()`` as ``Job(name, task)``, the task
  being the dotted path of a function decorated with ``capability_task``.
* Services queue a job with ``job_queue(capability, job, workspace=...)``: it
  asks the gate for jobs (``gate.jobs_allowed``) and sends the task after the
  transaction commits. Services never import their tasks; tasks call services.
* A capability lists its periodic jobs in ``schedules()`` as
  ``Schedule(name, job, cron)``. They become django-celery-beat rows (admins see
  and change them in the Django admin); Celery beat runs them where a broker is
  configured, ``manage.py run_due_jobs`` runs whatever is due in the embedded
  set-up (from cron, or the loop ``make run`` starts).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import current_app, shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from ai_features import gate
from ai_features.declarations import Job, Schedule
from ai_features.registry import registry
from crmcore.models import Workspace

__all__ = [
    "Job",
    "Schedule",
    "capability_task",
    "due_jobs_run",
    "job_queue",
    "job_workspaces",
    "schedules_ensure",
]

#: The Celery task every schedule row points at (kwargs: capability, job).
SCHEDULED_TASK = "ai_features.scheduled_job"

Summary = dict[str, Any]


def _celery_task(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """celery's ``shared_task`` decorator, typed (celery ships no types)."""
    decorator: Callable[[Callable[..., Any]], Any] = shared_task(**options)
    return decorator


def capability_task(capability: str, name: str) -> Callable[[Callable[..., Summary]], Any]:
    """Declare a capability's task, named ``<capability>.<name>``, acknowledged late.

    The decorated function takes ``workspace`` and keyword arguments and returns
    a summary dict; the task takes ``workspace_id`` and runs the function only
    where ``gate.jobs_allowed`` says so (answering ``{"skipped": reason}``
    otherwise), so a job queued before the kill switch was pulled does nothing.
    """

    def decorator(fn: Callable[..., Summary]) -> Any:
        @_celery_task(name=f"{capability}.{name}", acks_late=True)
        @functools.wraps(fn)
        def task(workspace_id: int, **kwargs: Any) -> Summary:
            workspace = Workspace.objects.filter(pk=workspace_id).first()
            if workspace is None:
                return {"workspace": workspace_id, "skipped": "The workspace no longer exists."}
            decision = gate.jobs_allowed(capability, workspace)
            if not decision:
                return {"workspace": workspace_id, "skipped": decision.reason}
            return {"workspace": workspace_id, **fn(workspace=workspace, **kwargs)}

        task.capability = capability
        task.run_now = fn
        return task

    return decorator


def job_workspaces(workspace_id: int | None = None) -> list[Workspace]:
    """One workspace, or all of them in id order (for a command's ``--workspace``)."""
    qs = Workspace.objects.order_by("pk")
    if workspace_id is not None:
        qs = qs.filter(pk=workspace_id)
    return list(qs)


def job_task(capability: str, job: str) -> Any:
    """The Celery task of a capability's declared job."""
    return import_string(job_get(capability, job).task)


def job_get(capability: str, job: str) -> Job:
    cap = registry.resolve(capability)
    for declared in cap.jobs():
        if declared.name == job:
            return declared
    raise KeyError(f"{cap.key!r} declares no job {job!r}")


def job_queue(
    capability: str, job: str, *, workspace: Workspace, **kwargs: Any
) -> gate.JobDecision:
    """Queue a capability's job for ``workspace`` after the transaction commits.

    Nothing is queued where the gate for jobs says no; the decision (with its
    reason) is returned either way. Runs in-process when no broker is configured.
    """
    task = job_task(capability, job)
    if not job_get(capability, job).gated:
        transaction.on_commit(lambda: task.delay(**kwargs))
        return gate.JobDecision(True, "The job asks the gate for its user.")
    decision = gate.jobs_allowed(capability, workspace)
    if decision:
        workspace_id = workspace.pk
        transaction.on_commit(lambda: task.delay(workspace_id, **kwargs))
    return decision


@_celery_task(name=SCHEDULED_TASK, acks_late=True)
def scheduled_job(capability: str, job: str, **kwargs: Any) -> Summary:
    """Run a capability's job for every workspace it may run in (one task each)."""
    task = job_task(capability, job)
    queued: list[int] = []
    skipped: dict[int, str] = {}
    for workspace in Workspace.objects.order_by("pk"):
        decision = gate.jobs_allowed(capability, workspace)
        if decision:
            task.delay(workspace.pk, **kwargs)
            queued.append(workspace.pk)
        else:
            skipped[workspace.pk] = decision.reason
    return {"capability": capability, "job": job, "queued": queued, "skipped": skipped}


def declared_schedules() -> list[tuple[str, Schedule]]:
    """(capability key, schedule) of every registered capability."""
    return [(cap.key, schedule) for cap in registry for schedule in cap.schedules()]


def schedule_task_name(capability: str, schedule: Schedule) -> str:
    return f"{capability}: {schedule.name}"


def schedules_ensure(**kwargs: Any) -> int:
    """Create the missing django-celery-beat row of every declared schedule.

    Connected to ``post_migrate``. Existing rows are left as admins set them
    (time, enabled); returns how many rows were created.
    """
    created = _settings_schedules_ensure()
    declared = declared_schedules()
    names = [schedule_task_name(key, s) for key, s in declared]
    existing = set(PeriodicTask.objects.filter(name__in=names).values_list("name", flat=True))
    for key, schedule in declared:
        name = schedule_task_name(key, schedule)
        if name in existing:
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            **schedule.cron_fields(), timezone=timezone.get_default_timezone_name()
        )
        PeriodicTask.objects.create(
            name=name,
            task=SCHEDULED_TASK,
            crontab=crontab,
            kwargs=json.dumps({"capability": key, "job": schedule.job, **schedule.kwargs}),
            description=schedule.description,
        )
        created += 1
    return created


def _settings_schedules_ensure() -> int:
    """Rows for ``CELERY_BEAT_SCHEDULE`` entries (crmcore's stale-run reaper), as beat makes them.

    So the embedded set-up's ``run_due_jobs`` runs them too. Existing rows are kept.
    """
    schedule = current_app.conf.beat_schedule or {}
    existing = set(
        PeriodicTask.objects.filter(name__in=list(schedule)).values_list("name", flat=True)
    )
    for name, entry in schedule.items():
        if name not in existing:
            ModelEntry.from_entry(name, app=current_app, **entry)
    return len(set(schedule) - existing)


@dataclass(frozen=True)
class DueRun:
    name: str
    result: Summary


def due_jobs_run(*, now: dt.datetime | None = None) -> list[DueRun]:
    """Run every enabled periodic task that is due at ``now`` (the embedded set-up's beat).

    A task is due when its schedule has fired since it last ran (or since it
    was created, for one that never ran). Its ``last_run_at`` is set before it
    runs, so two overlapping callers do not both run it.
    """
    now = now or timezone.now()
    runs: list[DueRun] = []
    for periodic in PeriodicTask.objects.filter(enabled=True).select_related(
        "crontab", "interval", "solar", "clocked"
    ):
        last = periodic.last_run_at or periodic.date_changed
        schedule = periodic.schedule
        schedule.nowfun = lambda: now
        if not schedule.is_due(last).is_due:
            continue
        claimed = PeriodicTask.objects.filter(
            pk=periodic.pk, last_run_at=periodic.last_run_at
        ).update(last_run_at=now, total_run_count=periodic.total_run_count + 1)
        if not claimed:
            continue
        task = current_app.tasks[periodic.task]
        args = json.loads(periodic.args or "[]")
        kwargs = json.loads(periodic.kwargs or "{}")
        result = task.apply(args=args, kwargs=kwargs).get()
        runs.append(DueRun(name=periodic.name, result=result if isinstance(result, dict) else {}))
    return runs
