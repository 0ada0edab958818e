"""Stop before the one-contact-per-email rule if contacts already share an email.

The next migration adds a unique constraint on (workspace, lower(email)).
Adding it over duplicates would fail with the database's own error, naming
neither the contacts nor the way out; this check lists them instead. Nothing
is merged or changed automatically: which contact to keep is a person's call.
"""

from django.core.management.base import CommandError
from django.db import migrations
from django.db.models import Count, Min
from django.db.models.functions import Lower

SHOWN = 50


def duplicate_email_report(apps) -> str:
    """An empty string, or the list of emails shared by contacts of one workspace."""
    Contact = apps.get_model("crmcore", "Contact")
    groups = list(
        Contact.objects.exclude(email="")
        .annotate(email_lower=Lower("email"))
        .values("workspace_id", "email_lower")
        .annotate(n=Count("id"), first=Min("id"))
        .filter(n__gt=1)
        .order_by("workspace_id", "email_lower")
    )
    if not groups:
        return ""
    lines = [
        f"{len(groups)} email(s) are shared by several contacts of the same workspace "
        "(compared without regard to case):"
    ]
    for group in groups[:SHOWN]:
        ids = list(
            Contact.objects.filter(workspace_id=group["workspace_id"])
            .annotate(email_lower=Lower("email"))
            .filter(email_lower=group["email_lower"])
            .order_by("id")
            .values_list("id", flat=True)
        )
        lines.append(
            f"  workspace {group['workspace_id']}: {group['email_lower']} "
            f"(contacts {', '.join(str(pk) for pk in ids)})"
        )
    if len(groups) > SHOWN:
        lines.append(f"  ... and {len(groups) - SHOWN} more.")
    lines.append(
        "Keep one contact per email: change or clear the email of the others (or delete "
        "them) in the admin or the API, then run `manage.py migrate` again."
    )
    return "\n".join(lines)


def check_no_duplicate_emails(apps, schema_editor) -> None:
    report = duplicate_email_report(apps)
    if report:
        raise CommandError(report)


class Migration(migrations.Migration):
    dependencies = [("crmcore", "0003_integrations")]

    operations = [
        migrations.RunPython(check_no_duplicate_emails, migrations.RunPython.noop, elidable=True),
    ]
