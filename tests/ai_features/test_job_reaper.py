"""Job runs survive a killed worker: heartbeats, task records, taking a run over, the reaper.

Tasks run eagerly here (no broker): the reaper's re-queued task runs in-process.
The kill -9 of a real worker is in ``test_job_worker_killed.py``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import asdict

import pytest
from celery.backends.cache import CacheBackend
from celery.exceptions import Ignore
from django.conf import settings
from django.utils import timezone

from ai_features.jobs import job_run, job_runs_reap
from ai_features.models import JobRun, SuggestionEvent
from ai_features.services import SuggestionEventInput
from ai_features.tasks import record_suggestion_events
from crmcore.celery import app
from crmcore.integrations.conf import app_settings as integration_settings
from crmcore.workspaces import production_workspace

LONG_AGO = timezone.make_aware(dt.datetime(2026, 1, 1, 9, 0))
TASK = "ai_features.record_suggestion_events"


@pytest.fixture
def events(workspace, user) -> list[dict]:
    return [
        asdict(
            SuggestionEventInput(
                capability="sentiment",
                action="shown",
                user_id=user.pk,
                workspace_id=workspace.pk,
                object_type="contact",
                object_id=i,
            )
        )
        for i in (1, 2)
    ]


def stale_task_run(events: list[dict], task_id: str = "task-1", **fields) -> JobRun:
    """A run of the suggestion-events task left "running" by a worker that died long ago."""
    values = {
        "name": "record_suggestion_events",
        "status": JobRun.Status.RUNNING,
        "total": len(events),
        "heartbeat_at": LONG_AGO,
        "task_name": TASK,
        "task_id": task_id,
        "task_args": [events],
        **fields,
    }
    return JobRun.objects.create(**values)


def test_celery_settings__killed_worker__message_redelivered_and_deduplicated():
    conf = app.conf
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost) == (True, True)
    assert conf.worker_prefetch_multiplier == 1
    assert conf.worker_deduplicate_successful_tasks is True
    timeout = conf.broker_transport_options["visibility_timeout"]
    assert timeout == settings.BROKER_VISIBILITY_TIMEOUT_SECONDS == 8 * 3600
    # A countdown task is held unacknowledged until due: the longest one must fit.
    assert timeout > integration_settings.WEBHOOKS_RETRY_MAX_SECONDS
    assert conf.beat_schedule["reap-stale-runs"]["task"] == "crmcore.reap_stale_runs"
    assert "crmcore.reap_stale_runs" in app.tasks


def test_job_handle_advance__progress__moves_the_heartbeat(db):
    with job_run(name="score_contacts", capability="prediction", total=5) as job:
        JobRun.objects.filter(pk=job.run.pk).update(heartbeat_at=LONG_AGO)
        job.advance(3)
        run = JobRun.objects.get(pk=job.run.pk)
        assert run.done == 3
        assert run.heartbeat_at > LONG_AGO
        JobRun.objects.filter(pk=job.run.pk).update(heartbeat_at=LONG_AGO)
        job.beat()
        assert JobRun.objects.get(pk=job.run.pk).heartbeat_at > LONG_AGO


def test_job_run__outside_a_task__records_no_task(db):
    with job_run(name="score_contacts", capability="prediction"):
        pass

    run = JobRun.objects.get()
    assert (run.status, run.task_name, run.task_id, run.attempts) == ("succeeded", "", "", 1)


def test_job_run__inside_a_task__records_the_task_to_queue_it_again(db, events):
    result = record_suggestion_events.delay(events)

    run = JobRun.objects.get()
    assert (run.status, run.task_name, run.task_id) == ("succeeded", TASK, result.id)
    assert (run.task_args, run.task_kwargs, run.attempts) == ([events], {}, 1)
    assert run.heartbeat_at is not None


def test_job_runs_reap__stale_task_run__interrupted_and_run_again_in_place(db, events):
    run = stale_task_run(events)

    report = job_runs_reap()

    assert (report.key, report.interrupted, report.requeued) == ("jobs", (run.pk,), (run.pk,))
    run.refresh_from_db()
    assert (run.status, run.attempts, run.done, run.total) == ("succeeded", 2, 2, 2)
    assert run.result == {"recorded": 2}
    assert JobRun.objects.count() == 1
    assert sorted(SuggestionEvent.objects.values_list("object_id", flat=True)) == [1, 2]


def test_job_runs_reap__events_recorded_before_the_kill__not_recorded_twice(db, events):
    # Given: the worker died after committing the events with the run's progress.
    run = stale_task_run(events, done=2)
    record_suggestion_events.run(events)  # the same rows as the killed attempt wrote
    JobRun.objects.exclude(pk=run.pk).delete()

    job_runs_reap()

    run.refresh_from_db()
    assert (run.status, run.attempts, run.done, run.result) == ("succeeded", 2, 2, {"recorded": 2})
    assert sorted(SuggestionEvent.objects.values_list("object_id", flat=True)) == [1, 2]


def test_job_runs_reap__run_outside_a_task__interrupted_not_queued(db):
    run = JobRun.objects.create(
        name="train_models", capability="prediction", status="running", heartbeat_at=LONG_AGO
    )

    report = job_runs_reap()

    assert (report.interrupted, report.requeued) == ((run.pk,), ())
    run.refresh_from_db()
    assert (run.status, run.message) == (
        "interrupted",
        "Interrupted: its heartbeat stopped; start it again.",
    )
    assert run.finished_at is not None


def test_job_runs_reap__task_not_acknowledged_late__interrupted_not_queued(db, events, monkeypatch):
    # A task that opts out of late acknowledgement is not declared idempotent.
    monkeypatch.setattr(record_suggestion_events, "acks_late", False)
    run = stale_task_run(events)

    report = job_runs_reap()

    assert (report.interrupted, report.requeued) == ((run.pk,), ())
    assert SuggestionEvent.objects.count() == 0


def test_job_runs_reap__unknown_task__interrupted_not_queued(db, events):
    run = stale_task_run(events, task_name="ai_features.removed_task")

    report = job_runs_reap()

    assert (report.interrupted, report.requeued) == ((run.pk,), ())


def test_job_runs_reap__recent_heartbeat_or_finished__left_alone(db, events):
    alive = stale_task_run(events, heartbeat_at=timezone.now())
    finished = stale_task_run(events, task_id="task-2", status=JobRun.Status.SUCCEEDED)
    before_heartbeats = stale_task_run(events, task_id="task-3", heartbeat_at=None)

    report = job_runs_reap(stale_after=3600)

    # A run from before heartbeats is judged by its start (here: just now).
    assert (report.interrupted, report.requeued) == ((), ())
    assert list(JobRun.objects.order_by("pk").values_list("pk", "status")) == [
        (alive.pk, "running"),
        (finished.pk, "succeeded"),
        (before_heartbeats.pk, "running"),
    ]


def test_job_runs_reap__two_runs_of_one_task__queued_once(db, events):
    first = stale_task_run(events, workspace=production_workspace())
    second = stale_task_run(events)

    report = job_runs_reap()

    # Queued once, for the first run; that delivery (run in-process here) took
    # over the task's workspace-less run before the reaper reached it.
    assert (report.interrupted, report.requeued) == ((first.pk,), (first.pk,))
    assert list(JobRun.objects.order_by("pk").values_list("pk", "status", "attempts")) == [
        (first.pk, "interrupted", 1),
        (second.pk, "succeeded", 2),
    ]


def test_job_run__same_task_delivered_while_its_run_is_alive__delivery_ignored(db, events):
    run = stale_task_run(events, heartbeat_at=timezone.now())

    result = record_suggestion_events.apply(args=[events], task_id="task-1")

    assert result.state == "IGNORED"
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("running", 1)
    assert SuggestionEvent.objects.count() == 0


# The tests run eagerly, where celery warns that results are not stored.
@pytest.mark.filterwarnings("ignore:Results are not stored in backend:RuntimeWarning")
def test_celery_task_before_start__task_id_already_succeeded__delivery_ignored():
    task = app.tasks[TASK]
    backend = CacheBackend(app=app, backend="memory")
    backend.mark_as_done("done-before", 2)
    task.backend = backend
    task.push_request(id="done-before", is_eager=False)
    try:
        with pytest.raises(Ignore, match="Task done-before already succeeded"):
            task.before_start("done-before", [[]], {})
        # A task id never run before goes ahead.
        assert task.before_start("never-run", [[]], {}) is None
    finally:
        task.pop_request()
        task.backend = None  # back to the app's


def test_worker_gone__earlier_worker_process__judged_on_the_same_node_only():
    import subprocess
    import sys

    from ai_features.jobs import _worker_gone

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    me = f"celery@box:{os.getpid()}"

    assert _worker_gone(f"celery@box:{dead.pid}", me) is True
    assert _worker_gone(me, me) is False  # alive (a thread pool runs tasks side by side)
    assert _worker_gone(f"celery@box:{os.getppid()}", me) is False  # alive
    assert _worker_gone(f"celery@other:{dead.pid}", me) is False  # only the heartbeat tells
    assert _worker_gone("", me) is False


@pytest.mark.django_db(transaction=True)
def test_pulse__long_step_without_progress__heartbeat_keeps_beating():
    import time

    from ai_features.jobs import Pulse

    run = JobRun.objects.create(name="train_models", heartbeat_at=LONG_AGO)
    finished = JobRun.objects.create(name="train_models", status="succeeded", heartbeat_at=LONG_AGO)
    pulses = [Pulse(run.pk, interval=0.05), Pulse(finished.pk, interval=0.05)]
    for pulse in pulses:
        pulse.start()
    try:
        for _ in range(600):  # at most 60 s
            if JobRun.objects.get(pk=run.pk).heartbeat_at > LONG_AGO:
                break
            time.sleep(0.1)
    finally:
        for pulse in pulses:
            pulse.stop()

    assert JobRun.objects.get(pk=run.pk).heartbeat_at > LONG_AGO
    assert JobRun.objects.get(pk=finished.pk).heartbeat_at == LONG_AGO  # only running runs
    assert [pulse.is_alive() for pulse in pulses] == [False, False]
