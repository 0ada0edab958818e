"""Progress and outcome of background jobs (JobRun), for CLI bars, pages and readiness.

Usage inside a task or command::

    with job_run(name="analyze_sentiment", capability="sentiment",
                 workspace=ws, total=n) as job:
        for chunk in chunks:
            ...
            job.advance(len(chunk))

Inside a Celery task the run records the task (name, id, arguments, queue).
When the task's message is delivered again (a killed worker, the reaper),
the same run is taken over rather than a second one started. The reaper
(``job_runs_reap``, run by ``manage.py reap_stale_runs``) marks runs whose
heartbeat stopped as interrupted and queues their task again where it is
re-runnable: registered, and acknowledged late (declared idempotent).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import current_task
from celery.exceptions import Ignore
from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from ai_features.models import JobRun
from crmcore.celery import app
from crmcore.extensions import ReapReport
from crmcore.models import Workspace

logger = logging.getLogger(__name__)


class JobHandle:
    def __init__(self, run: JobRun, progress: Any = None, done_before: int = 0) -> None:
        self.run = run
        self._progress = progress
        # What an earlier, interrupted delivery of this task had counted done
        # (its run is taken over and counts again from 0): a job that commits
        # its work with its progress can skip what is already there.
        self.done_before = done_before

    def advance(self, n: int) -> None:
        """Count ``n`` more items done; the same update is the run's heartbeat."""
        JobRun.objects.filter(pk=self.run.pk).update(
            done=F("done") + n, heartbeat_at=timezone.now()
        )
        self.run.done += n
        if self._progress is not None:
            self._progress.update(n)

    def beat(self) -> None:
        """A heartbeat without progress, for a long step that counts nothing."""
        JobRun.objects.filter(pk=self.run.pk).update(heartbeat_at=timezone.now())

    def set_total(self, total: int) -> None:
        JobRun.objects.filter(pk=self.run.pk).update(total=total, heartbeat_at=timezone.now())
        self.run.total = total
        if self._progress is not None:
            self._progress.total = total
            self._progress.refresh()

    def set_result(self, **result: Any) -> None:
        self.run.result.update(result)


class Pulse(threading.Thread):
    """Writes a running run's heartbeat every ``interval`` seconds until stopped."""

    def __init__(self, run_pk: int, *, interval: float) -> None:
        super().__init__(name=f"job-run-{run_pk}-heartbeat", daemon=True)
        self.run_pk = run_pk
        self.interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopped.wait(self.interval):
                JobRun.objects.filter(pk=self.run_pk, status=JobRun.Status.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        except Exception:  # the job goes on; only its heartbeat stops
            logger.exception("The heartbeat of job run #%s stopped", self.run_pk)
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=60)


@contextmanager
def job_run(
    *,
    name: str,
    capability: str = "",
    workspace: Workspace | None = None,
    total: int = 0,
    progress: Any = None,
) -> Iterator[JobHandle]:
    """Record a job run; marks it failed (and re-raises) on an exception."""
    run, done_before = _run_start(
        name=name, capability=capability, workspace=workspace, total=total
    )
    handle = JobHandle(run, progress, done_before=done_before)
    task = _current_task()
    pulse = None
    if task is not None and not task.request.is_eager:
        # On a worker, a long step that advances nothing (a model fit) must not
        # look dead: a thread beats at a quarter of the heartbeat timeout.
        pulse = Pulse(run.pk, interval=_heartbeat_timeout().total_seconds() / 4)
        pulse.start()
    try:
        yield handle
    except Exception as exc:
        JobRun.objects.filter(pk=run.pk).update(
            status=JobRun.Status.FAILED,
            message=str(exc)[:2000],
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            result=handle.run.result,
        )
        raise
    finally:
        if pulse is not None:
            pulse.stop()
    JobRun.objects.filter(pk=run.pk).update(
        status=JobRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        result=handle.run.result,
    )


def _heartbeat_timeout(stale_after: float | None = None) -> dt.timedelta:
    seconds = settings.RUN_HEARTBEAT_TIMEOUT_SECONDS if stale_after is None else stale_after
    return dt.timedelta(seconds=seconds)


def _current_task() -> Any:
    """The Celery task being executed, or None (a command, a plain function call)."""
    task = current_task._get_current_object()  # a proxy: None outside a task
    if task is None or task.request.called_directly or not task.request.id:
        return None
    return task


def _task_fields(task: Any) -> dict[str, Any]:
    request = task.request
    worker = f"{request.hostname}:{os.getpid()}" if request.hostname else ""
    args, kwargs = list(request.args or []), dict(request.kwargs or {})
    try:
        json.dumps([args, kwargs])
    except TypeError:  # an eager call with objects for arguments: not re-queueable
        return {"task_id": request.id, "worker": worker}
    return {
        "worker": worker,
        "task_name": task.name,
        "task_id": request.id,
        "task_args": args,
        "task_kwargs": kwargs,
        "queue": (request.delivery_info or {}).get("routing_key") or "",
    }


def _worker_gone(earlier: str, current: str) -> bool:
    """Whether the worker process ``earlier`` ("node:pid"), on the same Celery
    node as ``current``, is no longer running that run."""
    node, _, pid = earlier.rpartition(":")
    if not node or not pid.isdigit() or node != current.rpartition(":")[0]:
        return False  # another node (or unknown): only its heartbeat tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _run_start(
    *, name: str, capability: str, workspace: Workspace | None, total: int
) -> tuple[JobRun, int]:
    """A new run, or this task's earlier run of the same job taken over (and its done count).

    A second delivery of a task (a killed worker's message, a run re-queued by
    the reaper) finds the run its first delivery started: it runs it again in
    place (one more attempt) unless that run is still alive, with a recent
    heartbeat, in which case this delivery is dropped (celery's Ignore). A
    run whose worker process, on this same node, has died is not alive
    whatever its heartbeat: that is the redelivery of a killed pool process
    (``task_reject_on_worker_lost``).
    """
    now = timezone.now()
    task = _current_task()
    fields = _task_fields(task) if task is not None else {}
    if fields:
        earlier = JobRun.objects.filter(
            task_id=fields["task_id"], name=name, workspace=workspace
        ).first()
        if earlier is not None:
            alive = Q(status=JobRun.Status.RUNNING, heartbeat_at__gte=now - _heartbeat_timeout())
            claimable = ~alive
            if _worker_gone(earlier.worker, fields["worker"]):
                claimable |= Q(worker=earlier.worker)  # unless another delivery took it meanwhile
            taken = JobRun.objects.filter(claimable, pk=earlier.pk).update(
                status=JobRun.Status.RUNNING,
                capability=capability,
                total=total,
                done=0,
                message="",
                result={},
                finished_at=None,
                heartbeat_at=now,
                attempts=F("attempts") + 1,
                worker=fields["worker"],
            )
            if not taken:
                raise Ignore(f"Job run #{earlier.pk} is still running elsewhere")
            done_before = earlier.done
            earlier.refresh_from_db()
            return earlier, done_before
    run = JobRun.objects.create(
        name=name,
        capability=capability,
        workspace=workspace,
        total=total,
        heartbeat_at=now,
        **fields,
    )
    return run, 0


def _requeueable_task(run: JobRun) -> Any:
    """The run's task where queueing it again is safe: registered and acknowledged late."""
    if not run.task_name or not run.task_id:
        return None
    task = app.tasks.get(run.task_name)
    if task is None or not task.acks_late:
        return None
    return task


def job_runs_reap(*, stale_after: float | None = None) -> ReapReport:
    """Interrupt running runs whose heartbeat stopped; queue their task again.

    A run is stale when its heartbeat (or, for runs from before heartbeats,
    its start) is older than ``stale_after`` seconds (default
    ``RUN_HEARTBEAT_TIMEOUT_SECONDS``). Each stale run is marked interrupted
    by one conditional update, so two reapers never both handle it; its
    task is queued again under its first id (once per id), where it takes
    over the same run. A run with no re-queueable task stays interrupted.
    """
    now = timezone.now()
    cutoff = now - _heartbeat_timeout(stale_after)
    stale = Q(status=JobRun.Status.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    interrupted: list[int] = []
    requeued: list[int] = []
    queued_ids: set[str] = set()
    for run in JobRun.objects.filter(stale).order_by("pk"):
        task = _requeueable_task(run)
        message = (
            "Interrupted: its heartbeat stopped; queued again."
            if task is not None
            else "Interrupted: its heartbeat stopped; start it again."
        )
        if not JobRun.objects.filter(stale, pk=run.pk).update(
            status=JobRun.Status.INTERRUPTED, finished_at=now, message=message
        ):
            continue  # it advanced meanwhile, or another reaper took it
        interrupted.append(run.pk)
        if task is None or run.task_id in queued_ids:
            continue
        queued_ids.add(run.task_id)
        try:
            task.apply_async(
                args=run.task_args,
                kwargs=run.task_kwargs,
                task_id=run.task_id,
                queue=run.queue or None,
            )
        except Exception:  # the broker is down, or an eager (embedded) re-run failed
            logger.exception("Queueing job run #%s again failed", run.pk)
        else:
            requeued.append(run.pk)
    return ReapReport(key="jobs", interrupted=tuple(interrupted), requeued=tuple(requeued))
