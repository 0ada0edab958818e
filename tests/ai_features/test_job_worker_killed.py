"""A Celery worker killed with SIGKILL mid-job: the job completes once.

Real workers (started and killed by the tests) on the Redis broker of
``CELERY_BROKER_URL`` and this test's PostgreSQL database, on a queue of the
tests' own, so a worker already serving the broker (.ci/run) takes none of
their messages. Run with ``pytest -m celery_worker`` and a broker (.ci/run).

The job is a campaign build of 30 contacts in chunks of 10
(tests.worker_settings); the messages of the last 20 exist as stale drafts
that the test keeps locked, so the build waits at its second chunk, with a
heartbeat and progress, until the test has killed the worker.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from ai_features.capabilities.personalization.models import CampaignMessage
from ai_features.capabilities.personalization.selectors import job_name
from ai_features.capabilities.personalization.tasks import build_campaign_task
from ai_features.jobs import job_runs_reap
from ai_features.models import JobRun
from crmcore import factories
from crmcore.models import Campaign, Contact
from crmcore.workspaces import production_workspace
from tests.processes import RowLock, celery_worker, wait_until

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL")
        or not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        reason="needs a Redis broker (CELERY_BROKER_URL) and PostgreSQL: see .ci/run",
    ),
    pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS)),
]

CONTACTS = 30
QUEUE = "pilotcrm-kill-test"
# Bound of the final wait: a worker's start, and possibly one periodic sweep of
# unacknowledged messages (kombu: about 100 s), on a loaded machine.
FINISH_TIMEOUT = 300.0


@dataclass
class Build:
    campaign: Campaign
    contacts: list[Contact]
    broker: redis.Redis

    @property
    def name(self) -> str:
        return job_name("build", self.campaign.pk)

    def run(self) -> JobRun:
        return JobRun.objects.get(name=self.name)

    def stale_drafts(self):
        return CampaignMessage.objects.filter(campaign=self.campaign)

    def finished(self, task_id: str) -> bool:
        """The run ended, and nothing of the task waits on the queue or unacknowledged."""
        ended = (
            JobRun.objects.filter(name=self.name)
            .exclude(status__in=[JobRun.Status.RUNNING, JobRun.Status.INTERRUPTED])
            .exists()
        )
        if not ended or self.broker.llen(QUEUE):
            return False
        return not any(task_id.encode() in raw for raw in self.broker.hvals("unacked"))

    def assert_built_once(self, *, attempts: int) -> None:
        run = self.run()
        assert (run.status, run.attempts, run.done, run.total) == ("succeeded", attempts, 30, 30)
        assert JobRun.objects.filter(name=self.name).count() == 1
        assert not JobRun.objects.filter(status=JobRun.Status.RUNNING).exists()
        messages = CampaignMessage.objects.filter(campaign=self.campaign)
        assert sorted(messages.values_list("contact_id", flat=True)) == sorted(
            c.pk for c in self.contacts
        )
        assert not messages.filter(subject="stale").exists()


@pytest.fixture
def build():
    workspace = production_workspace()
    contacts = factories.ContactFactory.create_batch(CONTACTS, workspace=workspace, account=None)
    campaign = factories.CampaignFactory(workspace=workspace, audience={})
    CampaignMessage.objects.bulk_create(
        [
            CampaignMessage(workspace=workspace, campaign=campaign, contact=c, subject="stale")
            for c in sorted(contacts, key=lambda c: c.pk)[10:]
        ]
    )
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(QUEUE)  # what an interrupted earlier run may have left
    yield Build(campaign=campaign, contacts=contacts, broker=broker)
    broker.delete(QUEUE)


@pytest.fixture
def workers():
    started = []
    yield started
    for worker in started:
        worker.stop()


def test_build_campaign_worker__killed_mid_job__completes_once_after_reaper_and_redelivery(
    build, workers
):
    # Given: the build running on a worker, waiting at its second chunk.
    with RowLock(build.stale_drafts()) as lock:
        assert lock.count == 20
        message = build_campaign_task.apply_async((build.campaign.pk, None), queue=QUEUE)
        first = celery_worker(name="kill-test-1", queue=QUEUE)
        workers.append(first)
        wait_until(
            lambda: JobRun.objects.filter(name=build.name, done__gte=10).exists(),
            "the first chunk of the build",
            process=first,
        )

        # When: the worker is killed (SIGKILL)...
        first.kill()
    run = build.run()
    assert (run.status, run.done, run.attempts) == ("running", 10, 1)
    assert (run.task_name, run.task_id, run.queue) == (
        "personalization.build_campaign",
        message.id,
        QUEUE,
    )
    assert run.heartbeat_at is not None

    # ...the reaper queues it again (the stopped heartbeat: any age counts here)...
    report = job_runs_reap(stale_after=0)
    assert (report.interrupted, report.requeued) == ((run.pk,), (run.pk,))
    run.refresh_from_db()
    assert run.status == "interrupted"

    # ...and a new worker starts whose broker hands out the killed worker's
    # unacknowledged message again (a visibility timeout of 1 s, elapsed).
    while (timezone.now() - run.started_at).total_seconds() <= 2:
        time.sleep(0.2)
    second = celery_worker(
        name="kill-test-2", queue=QUEUE, env={"BROKER_VISIBILITY_TIMEOUT_SECONDS": "1"}
    )
    workers.append(second)
    wait_until(
        lambda: build.finished(message.id),
        "the build to finish and both of its messages to be acknowledged",
        timeout=FINISH_TIMEOUT,
        process=second,
    )

    # Then: of the two deliveries one ran the job, in its first run; the other was dropped.
    build.assert_built_once(attempts=2)


def test_build_campaign_prefork_child__killed_mid_job__redelivered_and_completed_once(
    build, workers
):
    # Given: the build running in the pool process of a prefork worker.
    with RowLock(build.stale_drafts()):
        message = build_campaign_task.apply_async((build.campaign.pk, None), queue=QUEUE)
        worker = celery_worker(name="kill-test-prefork", queue=QUEUE, pool="prefork")
        workers.append(worker)
        wait_until(
            lambda: JobRun.objects.filter(name=build.name, done__gte=10).exists(),
            "the first chunk of the build",
            process=worker,
        )
        run = build.run()
        node, _, pid = run.worker.rpartition(":")
        assert node == f"kill-test-prefork@{os.uname().nodename}"
        assert int(pid) != worker.pid  # a pool process, not the worker itself

        # When: the pool process is killed (SIGKILL); the worker lives on.
        os.kill(int(pid), signal.SIGKILL)

    # Then: the worker puts the message back at once (reject on worker lost),
    # a new pool process takes the run over, with no reaper, and builds it once.
    wait_until(
        lambda: build.finished(message.id),
        "the redelivered build to finish",
        timeout=FINISH_TIMEOUT,
        process=worker,
    )
    build.assert_built_once(attempts=2)
    assert not JobRun.objects.filter(status=JobRun.Status.INTERRUPTED).exists()
