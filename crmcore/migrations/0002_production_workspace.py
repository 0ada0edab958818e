from django.db import migrations


def create_production_workspace(apps, schema_editor):
    Workspace = apps.get_model("crmcore", "Workspace")
    if not Workspace.objects.filter(kind="production").exists():
        Workspace.objects.create(name="Production", kind="production")


def remove_empty_production_workspace(apps, schema_editor):
    Workspace = apps.get_model("crmcore", "Workspace")
    Workspace.objects.filter(kind="production", name="Production").delete()


class Migration(migrations.Migration):
    dependencies = [("crmcore", "0001_initial")]

    operations = [
        migrations.RunPython(create_production_workspace, remove_empty_production_workspace),
    ]
