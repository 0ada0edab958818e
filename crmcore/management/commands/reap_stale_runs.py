"""``manage.py reap_stale_runs [--stale-after SECONDS]``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from crmcore.extensions import run_reapers
from crmcore.runs import stale_runs_reap


class Command(BaseCommand):
    help = (
        "Mark running jobs and imports whose heartbeat stopped as interrupted, and queue "
        "again those that can run again (killed workers, killed import commands)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--stale-after",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Heartbeat age that counts as stopped (default: RUN_HEARTBEAT_TIMEOUT_SECONDS)",
        )

    def handle(self, *args, **options) -> None:
        stale_after = options["stale_after"]
        if stale_after is not None and stale_after < 0:
            raise CommandError("--stale-after cannot be negative")
        labels = {reaper.key: reaper.label for reaper in run_reapers}
        for report in stale_runs_reap(stale_after=stale_after):
            self.stdout.write(
                f"{labels.get(report.key, report.key)}: {len(report.interrupted)} interrupted"
                f"{_ids(report.interrupted)}, {len(report.requeued)} queued again"
                f"{_ids(report.requeued)}"
            )


def _ids(ids: tuple[int, ...]) -> str:
    return f" (#{', #'.join(map(str, ids))})" if ids else ""
