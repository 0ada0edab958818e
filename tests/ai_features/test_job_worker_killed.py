"""A Celery worker killed with SIGKILL mid-job: the job completes once.

Real workers (solo pool, started and killed by the test) on the Redis broker
of ``CELERY_BROKER_URL`` and this test's PostgreSQL database, on a queue of
this test's own, so a worker already serving the broker (.ci/run) takes none
of its messages. Run with ``pytest -m celery_worker`` and a broker (.ci/run).
"""

from __future__ import annotations

import os
import time

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
from crmcore.models import Contact
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

CONTACTS = 30  # built in chunks of 10 (tests.worker_settings)
QUEUE = "pilotcrm-kill-test"


def _broker() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def _message_settled(broker: redis.Redis, queue: str, task_id: str) -> bool:
    """Nothing of the task waits on the queue or unacknowledged (kombu's "unacked" hash)."""
    if broker.llen(queue):
        return False
    return not any(task_id.encode() in raw for raw in broker.hvals("unacked"))


def test_build_campaign_worker__killed_mid_job__completes_once_after_reaper_and_redelivery():
    # Given: a campaign of 30 contacts whose messages for the last 20 exist as
    # stale drafts that this test keeps locked: the build waits at its second chunk.
    workspace = production_workspace()
    contacts = factories.ContactFactory.create_batch(CONTACTS, workspace=workspace, account=None)
    campaign = factories.CampaignFactory(workspace=workspace, audience={})
    CampaignMessage.objects.bulk_create(
        [
            CampaignMessage(workspace=workspace, campaign=campaign, contact=c, subject="stale")
            for c in sorted(contacts, key=lambda c: c.pk)[10:]
        ]
    )
    queue = QUEUE
    broker = _broker()
    broker.delete(queue)  # what an interrupted earlier run may have left
    name = job_name("build", campaign.pk)
    run = None
    workers = []
    try:
        with RowLock(CampaignMessage.objects.filter(campaign=campaign)) as lock:
            assert lock.count == 20
            message = build_campaign_task.apply_async((campaign.pk, None), queue=queue)
            first = celery_worker(name="kill-test-1", queue=queue)
            workers.append(first)

            # When: the run has a heartbeat and progress (its first chunk), the worker is killed.
            wait_until(
                lambda: JobRun.objects.filter(name=name, done__gte=10).exists(),
                "the first chunk of the build",
                process=first,
            )
            first.kill()
        run = JobRun.objects.get(name=name)
        assert (run.status, run.done, run.attempts) == ("running", 10, 1)
        assert (run.task_name, run.task_id, run.queue) == (
            "personalization.build_campaign",
            message.id,
            queue,
        )
        assert run.heartbeat_at is not None

        # ...the reaper queues it again (the stopped heartbeat: any age counts here)...
        report = job_runs_reap(stale_after=0)
        assert (report.interrupted, report.requeued) == ((run.pk,), (run.pk,))
        run.refresh_from_db()
        assert run.status == "interrupted"

        # ...and a new worker starts whose broker hands out the killed worker's
        # unacknowledged message again (visibility timeout of 1 s, elapsed).
        while (timezone.now() - run.started_at).total_seconds() <= 2:
            time.sleep(0.2)
        second = celery_worker(
            name="kill-test-2", queue=queue, env={"BROKER_VISIBILITY_TIMEOUT_SECONDS": "1"}
        )
        workers.append(second)
        wait_until(
            lambda: (
                JobRun.objects.filter(name=name)
                .exclude(status="running")
                .exclude(status="interrupted")
                .exists()
                and _message_settled(broker, queue, message.id)
            ),
            "the job to finish and both of its messages to be acknowledged",
            process=second,
        )
    finally:
        for worker in workers:
            worker.stop()
        broker.delete(queue)

    # Then: of the two deliveries one ran the job, in its first run; the other was dropped.
    run.refresh_from_db()
    assert (run.status, run.attempts, run.done, run.total) == ("succeeded", 2, 30, 30)
    assert JobRun.objects.filter(name=name).count() == 1
    assert not JobRun.objects.filter(status=JobRun.Status.RUNNING).exists()
    messages = CampaignMessage.objects.filter(campaign=campaign)
    assert sorted(messages.values_list("contact_id", flat=True)) == sorted(c.pk for c in contacts)
    assert not messages.filter(subject="stale").exists()
    assert Contact.objects.in_workspace(workspace).count() == CONTACTS
