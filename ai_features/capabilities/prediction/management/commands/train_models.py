"""manage.py train_models [--workspace ID]: train each workspace's churn and next-need models."""

from django.core.management.base import BaseCommand

from ai_features.capabilities.prediction.runs import train_workspace
from ai_features.scheduling import job_workspaces


class Command(BaseCommand):
    help = "Train each workspace's churn and next-need models and print held-out metrics."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", type=int, help="Only this workspace id.")

    def handle(self, *args, workspace=None, **options):
        for ws in job_workspaces(workspace):
            summary = train_workspace(workspace=ws)
            label = f"Workspace {ws.pk} ({ws.name})"
            if "skipped" in summary:
                self.stdout.write(f"{label}: skipped. {summary['skipped']}")
                continue
            if summary["status"] == "insufficient":
                self.stdout.write(f"{label}: v{summary['version']} not trained. {summary['notes']}")
                continue
            m = summary["metrics"]
            verdict = "published (live)" if summary["live"] else "rejected by the quality gate"
            self.stdout.write(
                f"{label}: churn model v{summary['version']} {verdict} — "
                f"AUC {m['auc']:.3f}, precision@top10% {m['precision_top10']:.3f}, "
                f"Brier {m['brier']:.3f} on {m['n_test']} held-out contacts"
            )
            if m.get("next_need_hit_at_3") is not None:
                self.stdout.write(
                    f"  next needs: hit rate@3 {m['next_need_hit_at_3']:.3f} "
                    f"vs most popular not yet bought {m['popular_hit_at_3']:.3f} "
                    f"and own most frequent {m['frequent_hit_at_3']:.3f} "
                    f"({m['next_need_cases']} held-out last orders)"
                )
            if summary["notes"]:
                self.stdout.write(f"  {summary['notes']}")
