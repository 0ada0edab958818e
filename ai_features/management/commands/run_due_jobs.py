"""manage.py run_due_jobs [--loop SECONDS]: run the periodic jobs that are due.

The embedded set-up's Celery beat: run it from cron every few minutes, or with
``--loop`` as a long-running process (``make run`` starts one). Where a broker
is configured, Celery beat reads the same schedules instead.
"""

import time

from django.core.management.base import BaseCommand

from ai_features.scheduling import due_jobs_run, schedules_ensure


class Command(BaseCommand):
    help = "Run every enabled periodic job that is due (the embedded set-up's beat)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop",
            type=float,
            default=0,
            metavar="SECONDS",
            help="Keep running, checking every SECONDS (default: check once and exit).",
        )

    def handle(self, *args, loop: float = 0, **options):
        schedules_ensure()
        while True:
            for run in due_jobs_run():
                self.stdout.write(f"{run.name}: {self._summary(run.result)}")
            if not loop:
                return
            time.sleep(loop)

    @staticmethod
    def _summary(result: dict) -> str:
        queued = result.get("queued")
        if queued is None:
            return "done"
        skipped = result.get("skipped") or {}
        return f"ran for {len(queued)} workspace(s), skipped {len(skipped)}"
