"""crmcore's periodic jobs (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from crmcore import observability, services
from crmcore.models import Task, Workspace

logger = logging.getLogger(__name__)

#: Cache key of the last beat's time (ISO 8601).
HEARTBEAT_KEY = "crmcore:heartbeat"


@shared_task(name="crmcore.heartbeat")
def heartbeat() -> str:
    """Proof that beat schedules and a worker runs: the time, in the cache and /metrics."""
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    observability.heartbeat()
    logger.info("heartbeat", extra={"beat_at": now})
    return now


@shared_task(name="crmcore.task_digest")
def task_digest() -> int:
    """Each rep's daily email of their tasks due today or overdue, in every workspace
    (a sandbox records its emails instead of sending them)."""
    sent = 0
    workspace_ids = Task.objects.filter(done=False).values_list("workspace_id", flat=True)
    for workspace in Workspace.objects.filter(pk__in=workspace_ids.distinct()):
        sent += services.task_digest_send(workspace=workspace)
    logger.info("task digest", extra={"emails": sent})
    return sent
