"""manage.py score_contacts [--workspace ID]: store every contact's next needs, then
score current customers, in chunks."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from ai_features.capabilities.prediction.runs import next_needs_workspace, score_workspace
from ai_features.scheduling import job_workspaces


class Command(BaseCommand):
    help = (
        "Store every contact's next needs, then score every current customer with the live "
        "churn model, in chunks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", type=int, help="Only this workspace id.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, workspace=None, no_progress=False, **options):
        for ws in job_workspaces(workspace):
            label = f"Workspace {ws.pk} ({ws.name})"
            with tqdm(
                desc=f"Next needs {ws.name}", unit="contact", disable=no_progress, file=self.stderr
            ) as bar:
                next_needs_workspace(workspace=ws, progress=bar)
            with tqdm(
                desc=f"Scoring {ws.name}", unit="contact", disable=no_progress, file=self.stderr
            ) as bar:
                summary = score_workspace(workspace=ws, progress=bar)
            if "skipped" in summary:
                self.stdout.write(f"{label}: skipped. {summary['skipped']}")
            else:
                self.stdout.write(
                    f"{label}: scored {summary['scored']} customers, {summary['high']} at high "
                    f"risk ({summary['crossed_high']} newly)"
                )
