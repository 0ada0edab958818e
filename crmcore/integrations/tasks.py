"""Celery tasks of the integrations (eager in-process when no broker is configured).

The webhook tasks are queued only where a broker is configured: in the
embedded set-up ``manage.py deliver_webhooks`` does their work, outside any
web request.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from crmcore.events import Event
from crmcore.integrations import services
from crmcore.integrations.models import WebhookDelivery
from crmcore.runs import stale_runs_reap

logger = logging.getLogger(__name__)


@shared_task(name="crmcore.integrations.import_run_execute")
def import_run_execute(run_id: int) -> dict[str, int] | None:
    """Run a pending or interrupted import; any other delivery of it does nothing.

    Idempotent: a second delivery finds the run taken (``import_run_claim``),
    and an interrupted run re-imported matches the rows it already wrote.
    """
    run = services.import_run_claim(run_id=run_id)
    if run is None:
        return None
    try:
        run = services.import_run_execute(run=run)
    except services.importer.ImportInputError:
        return None
    return {"created": run.created, "updated": run.updated, "rejected": run.rejected}


@shared_task(name="crmcore.integrations.outbox_dispatch", acks_late=True)
def outbox_dispatch(event_ids: list[int] | None = None) -> int:
    """Fan committed outbox events out to their endpoints and queue each message."""
    delivery_ids = services.outbox_events_dispatch(event_ids=event_ids)
    for pk in delivery_ids:
        webhook_deliver.delay(pk)
    return len(delivery_ids)


@shared_task(name="crmcore.integrations.webhook_deliver", acks_late=True)
def webhook_deliver(delivery_id: int) -> str | None:
    """One attempt when due; queued again for its retry, or for when another claim ends."""
    outcome = services.webhook_delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        webhook_deliver.apply_async((delivery_id,), countdown=outcome.retry_in)
    return WebhookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()


@shared_task(name="crmcore.integrations.webhook_retry_due")
def webhook_retry_due() -> int:
    """Catch up after a restart or a lost message: dispatch the outbox, queue due deliveries."""
    outbox_dispatch.delay()
    due = services.webhook_deliveries_due(limit=1000)
    for pk in due:
        webhook_deliver.delay(pk)
    services.outbox_events_prune()
    return len(due)


@shared_task(name="crmcore.reap_stale_runs")
def reap_stale_runs() -> dict[str, dict[str, list[int]]]:
    """Interrupt and queue again every app's runs whose heartbeat stopped (under beat)."""
    return {
        report.key: {"interrupted": list(report.interrupted), "requeued": list(report.requeued)}
        for report in stale_runs_reap()
    }


def on_events_committed(events: list[Event]) -> None:
    """Events listener (after commit): queue the fan-out where a broker is configured.

    With no broker (tasks eager) nothing happens here: ``deliver_webhooks``
    reads the outbox, so the web request that made the change sends nothing.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    ids = [event.id for event in events if event.id is not None and event.notify_subscribers]
    if not ids:
        return
    try:
        outbox_dispatch.delay(ids)
    except Exception:  # the broker down: webhook_retry_due dispatches them later
        logger.exception("Could not queue the dispatch of %d outbox events", len(ids))
