"""Data: pending deliveries become due now; sandbox deliveries get their would-have-sent record.

Before the outbox a pending delivery had no due time, and a sandbox's
"would send" delivery was shown to its trainee straight from the delivery
table; now every would-have-sent message is an ``OutboundRecord``.
"""

from django.db import migrations
from django.db.models import F


def forwards(apps, schema_editor):
    delivery = apps.get_model("crmcore", "WebhookDelivery")
    record = apps.get_model("crmcore", "OutboundRecord")
    delivery.objects.filter(status="pending", next_attempt_at__isnull=True).update(
        next_attempt_at=F("created_at")
    )
    would_send = (
        delivery.objects.filter(status="would_send")
        .select_related("endpoint")
        .order_by("id")
        .iterator(chunk_size=2000)
    )
    batch = []
    for row in would_send:
        batch.append(
            record(
                workspace_id=row.endpoint.workspace_id,
                kind="webhook",
                recipient=row.endpoint.target_url[:1000],
                subject=row.event[:250],
                body="",
                payload=row.payload,
                source="webhook",
                created_at=row.created_at,
            )
        )
        if len(batch) == 2000:
            record.objects.bulk_create(batch)
            batch = []
    record.objects.bulk_create(batch)


def backwards(apps, schema_editor):
    apps.get_model("crmcore", "OutboundRecord").objects.filter(
        kind="webhook", source="webhook"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("crmcore", "0008_outbox_and_outbound_records"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
