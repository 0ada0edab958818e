"""manage.py bias_audit [--workspace ID] [--sensitive NAME ...]: audit the live versions."""

from django.core.management.base import BaseCommand

from ai_features import gate
from ai_features.capabilities.prediction.selectors import model_version_live
from ai_features.capabilities.prediction.services import bias_audit_run, sensitive_attribute_set
from ai_features.scheduling import job_workspaces


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.2f}"


class Command(BaseCommand):
    help = "Audit each live churn model's outcomes across segments and print the report."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", type=int, help="Only this workspace id.")
        parser.add_argument(
            "--sensitive", action="append", default=[], help="Mark an attribute sensitive first."
        )

    def handle(self, *args, workspace=None, sensitive=(), **options):
        for ws in job_workspaces(workspace):
            label = f"Workspace {ws.pk} ({ws.name})"
            decision = gate.jobs_allowed("prediction", ws)
            if not decision:
                self.stdout.write(f"{label}: skipped. {decision.reason}")
                continue
            version = model_version_live(workspace=ws)
            if version is None:
                self.stdout.write(f"{label}: no published churn model.")
                continue
            for name in sensitive:
                sensitive_attribute_set(workspace=ws, name=name, sensitive=True)
            audit = bias_audit_run(version=version)
            self.stdout.write(
                f"{label}: churn model v{version.number}, threshold {audit.threshold}"
            )
            self.stdout.write(
                f"  {'attribute':<14}{'group':<16}{'n':>6}{'selected':>10}{'impact':>8}"
                f"{'TPR':>7}{'FPR':>7}"
            )
            for g in audit.groups:
                self.stdout.write(
                    f"  {g['attribute'][:13]:<14}{g['group'][:15]:<16}{g['count']:>6}"
                    f"{_fmt(g['selection_rate']):>10}{_fmt(g['impact_ratio']):>8}"
                    f"{_fmt(g['tpr']):>7}{_fmt(g['fpr']):>7}"
                )
            for warning in audit.warnings:
                self.stdout.write(f"  WARNING: {warning}")
            if not audit.warnings:
                self.stdout.write("  No warnings.")
