"""manage.py score_deals [--workspace ID] [--train]: (train the win model and) score open deals."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from ai_features.capabilities.prediction.runs import score_deals_workspace, train_win_workspace
from ai_features.scheduling import job_workspaces


class Command(BaseCommand):
    help = "Score every open deal with the live win model; --train trains a new one first."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", type=int, help="Only this workspace id.")
        parser.add_argument("--train", action="store_true", help="Train a win model first.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, workspace=None, train=False, no_progress=False, **options):
        for ws in job_workspaces(workspace):
            label = f"Workspace {ws.pk} ({ws.name})"
            if train:
                trained = train_win_workspace(workspace=ws)
                if "skipped" in trained:
                    self.stdout.write(f"{label}: training skipped. {trained['skipped']}")
                else:
                    m = trained["metrics"]
                    state = "published (live)" if trained["live"] else trained["status"]
                    self.stdout.write(
                        f"{label}: win model v{trained['version']} {state}"
                        + (
                            f" — AUC {m['auc']:.3f} (stage win rate "
                            f"{m['auc_stage_baseline']:.3f}), Brier {m['brier']:.3f} "
                            f"(stage win rate {m['brier_stage_baseline']:.3f}) "
                            f"on {m['n_test']} held-out deals"
                            if "auc" in m
                            else f" — {trained['notes']}"
                        )
                    )
            with tqdm(
                desc=f"Scoring deals of {ws.name}",
                unit="deal",
                disable=no_progress,
                file=self.stderr,
            ) as bar:
                summary = score_deals_workspace(workspace=ws, progress=bar)
            if "skipped" in summary:
                self.stdout.write(f"{label}: deals not scored. {summary['skipped']}")
            else:
                self.stdout.write(f"{label}: scored {summary['scored']} open deals")
