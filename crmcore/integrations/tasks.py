"""Celery tasks of the integrations (eager in-process when no broker is configured)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from crmcore.integrations import services
from crmcore.integrations.models import WebhookDelivery


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


@shared_task(name="crmcore.integrations.webhook_deliver", acks_late=True)
def webhook_deliver(delivery_id: int) -> str | None:
    """One attempt; on failure the next one is queued with a backoff countdown."""
    delay = services.webhook_delivery_attempt(delivery_id=delivery_id)
    if delay is not None:
        webhook_deliver.apply_async((delivery_id,), countdown=delay)
    return WebhookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()


@shared_task(name="crmcore.integrations.webhook_retry_due")
def webhook_retry_due() -> int:
    """Re-queue deliveries whose retry time has passed (after a worker restart, say)."""
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.RETRYING, next_retry_at__lte=timezone.now()
        ).values_list("pk", flat=True)[:1000]
    )
    for pk in due:
        webhook_deliver.delay(pk)
    return len(due)


@shared_task(name="crmcore.reap_stale_runs")
def reap_stale_runs() -> dict[str, dict[str, list[int]]]:
    """Interrupt and queue again every app's runs whose heartbeat stopped (under beat)."""
    from crmcore.runs import stale_runs_reap

    return {
        report.key: {"interrupted": list(report.interrupted), "requeued": list(report.requeued)}
        for report in stale_runs_reap()
    }
