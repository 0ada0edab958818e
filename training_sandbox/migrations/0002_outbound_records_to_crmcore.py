"""Data: the sandboxes' would-have-sent records move to crmcore's OutboundRecord."""

from django.db import migrations

FIELDS = ("workspace_id", "kind", "recipient", "subject", "body", "payload", "source", "created_at")


def copy_to_crmcore(apps, schema_editor):
    old = apps.get_model("training_sandbox", "OutboundRecord")
    new = apps.get_model("crmcore", "OutboundRecord")
    rows = old.objects.order_by("id").values(*FIELDS).iterator(chunk_size=2000)
    batch = []
    for row in rows:
        batch.append(new(**row))
        if len(batch) == 2000:
            new.objects.bulk_create(batch)
            batch = []
    new.objects.bulk_create(batch)


def copy_back(apps, schema_editor):
    old = apps.get_model("training_sandbox", "OutboundRecord")
    new = apps.get_model("crmcore", "OutboundRecord")
    rows = new.objects.exclude(source="webhook").order_by("id").values(*FIELDS)
    old.objects.bulk_create([old(**row) for row in rows.iterator(chunk_size=2000)], batch_size=2000)
    new.objects.exclude(source="webhook").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("training_sandbox", "0001_initial"),
        ("crmcore", "0008_outbox_and_outbound_records"),
    ]

    operations = [migrations.RunPython(copy_to_crmcore, copy_back)]
