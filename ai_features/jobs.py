"""Progress and outcome of background jobs (JobRun), for CLI bars, pages and readiness.

Usage inside a task or command::

    with job_run(name="analyze_sentiment", capability="sentiment",
                 workspace=ws, total=n) as job:
        for chunk in chunks:
            ...
            job.advance(len(chunk))
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db.models import F
from django.utils import timezone

from ai_features.models import JobRun


class JobHandle:
    def __init__(self, run: JobRun, progress=None) -> None:
        self.run = run
        self._progress = progress

    def advance(self, n: int) -> None:
        JobRun.objects.filter(pk=self.run.pk).update(done=F("done") + n)
        self.run.done += n
        if self._progress is not None:
            self._progress.update(n)

    def set_total(self, total: int) -> None:
        JobRun.objects.filter(pk=self.run.pk).update(total=total)
        self.run.total = total
        if self._progress is not None:
            self._progress.total = total
            self._progress.refresh()

    def set_result(self, **result) -> None:
        self.run.result.update(result)


@contextmanager
def job_run(*, name: str, capability: str = "", workspace=None, total: int = 0, progress=None):
    """Record a job run; marks it failed (and re-raises) on an exception."""
    run = JobRun.objects.create(name=name, capability=capability, workspace=workspace, total=total)
    handle = JobHandle(run, progress)
    try:
        yield handle
    except Exception as exc:
        JobRun.objects.filter(pk=run.pk).update(
            status=JobRun.Status.FAILED,
            message=str(exc)[:2000],
            finished_at=timezone.now(),
            result=handle.run.result,
        )
        raise
    JobRun.objects.filter(pk=run.pk).update(
        status=JobRun.Status.SUCCEEDED, finished_at=timezone.now(), result=handle.run.result
    )
