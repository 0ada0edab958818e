"""manage.py send_task_digest: email each rep their tasks due today or overdue (now)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from crmcore.tasks import task_digest


class Command(BaseCommand):
    help = "Email each rep their open tasks due today or overdue (the daily digest)."

    def handle(self, *args, **options) -> None:
        sent = task_digest()
        self.stdout.write(f"Task digest: {sent} email{'s' if sent != 1 else ''}.")
