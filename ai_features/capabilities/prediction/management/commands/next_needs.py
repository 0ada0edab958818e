"""manage.py next_needs [--workspace ID]: store every contact's next needs, in chunks."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from ai_features.capabilities.prediction.runs import next_needs_workspace
from ai_features.scheduling import job_workspaces


class Command(BaseCommand):
    help = "Store the products every contact likely needs next, with the reasons, in chunks."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", type=int, help="Only this workspace id.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, workspace=None, no_progress=False, **options):
        for ws in job_workspaces(workspace):
            label = f"Workspace {ws.pk} ({ws.name})"
            with tqdm(
                desc=f"Next needs {ws.name}", unit="contact", disable=no_progress, file=self.stderr
            ) as bar:
                summary = next_needs_workspace(workspace=ws, progress=bar)
            if "skipped" in summary:
                self.stdout.write(f"{label}: skipped. {summary['skipped']}")
                continue
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(summary["kinds"].items()))
            self.stdout.write(
                f"{label}: next needs of {summary['contacts']} contacts "
                f"({summary['with_history']} with a purchase history); reasons: {kinds or 'none'}"
            )
