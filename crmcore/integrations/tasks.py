"""Celery tasks of the integrations (eager in-process when no broker is configured)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from crmcore.integrations import services
from crmcore.integrations.models import ImportRun, WebhookDelivery


@shared_task(name="crmcore.integrations.import_run_execute")
def import_run_execute(run_id: int) -> dict[str, int] | None:
    run = ImportRun.objects.select_related("workspace").filter(pk=run_id).first()
    if run is None or run.status != ImportRun.Status.PENDING:
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
