"""manage.py analyze_sentiment [--workspace ID] [--all] [--workers N]"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ai_features import gate
from ai_features.capabilities.sentiment import services
from crmcore.models import Workspace


class Command(BaseCommand):
    help = (
        "Analyse the sentiment of interactions: only new or changed texts, "
        "or all of them with --all. Every workspace unless --workspace is given."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--workspace", type=int, help="Workspace id (default: all).")
        parser.add_argument(
            "--all", action="store_true", dest="reanalyze", help="Re-analyse every text."
        )
        parser.add_argument("--workers", type=int, default=None, help="Analysing processes.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options) -> None:
        workspaces = Workspace.objects.order_by("pk")
        if options["workspace"] is not None:
            workspaces = workspaces.filter(pk=options["workspace"])
            if not workspaces.exists():
                raise CommandError(f"No workspace with id {options['workspace']}")
        ran = 0
        for workspace in workspaces:
            decision = gate.jobs_allowed("sentiment", workspace)
            if not decision:
                self.stdout.write(f"{workspace}: skipped. {decision.reason}")
                continue
            with tqdm(
                desc=str(workspace),
                unit="interaction",
                disable=options["no_progress"],
                file=getattr(self.stderr, "_out", sys.stderr),
            ) as bar:
                summary = services.sentiment_analyze_interactions(
                    workspace=workspace,
                    reanalyze=options["reanalyze"],
                    workers=options["workers"],
                    progress=bar,
                )
            ran += 1
            self.stdout.write(
                f"{workspace}: {summary.analysed} analysed, {summary.unchanged} unchanged, "
                f"{summary.alerts} new alert(s)."
            )
        if options["workspace"] is not None and not ran:
            raise CommandError("Sentiment is not enabled for this workspace.")
