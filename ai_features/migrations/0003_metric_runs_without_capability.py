"""Earlier pilot-metric recording runs were filed under a capability and
counted in its readiness job error rate; they belong to none."""

from django.db import migrations


def forwards(apps, schema_editor):
    JobRun = apps.get_model("ai_features", "JobRun")
    JobRun.objects.filter(name="record_suggestion_events").exclude(capability="").update(
        capability=""
    )


class Migration(migrations.Migration):
    dependencies = [("ai_features", "0002_flag_training_audit_log")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
