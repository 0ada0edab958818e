from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("training_sandbox", "0002_outbound_records_to_crmcore"),
    ]

    operations = [
        migrations.DeleteModel(
            name="OutboundRecord",
        ),
    ]
