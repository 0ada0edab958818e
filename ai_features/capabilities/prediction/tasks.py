"""Celery tasks of the prediction capability: training and batch scoring.

Both run per workspace (all workspaces when none is given), only where the
capability may run (see ``access.jobs_enabled``), record their progress as a
JobRun, and are idempotent: training adds a version, scoring replaces scores.
"""

from __future__ import annotations

from celery import shared_task

from ai_features.capabilities.prediction import access
from crmcore.models import Contact, Workspace


def _workspaces(workspace_id: int | None) -> list[Workspace]:
    qs = Workspace.objects.order_by("pk")
    if workspace_id is not None:
        qs = qs.filter(pk=workspace_id)
    return list(qs)


def train_workspace(*, workspace: Workspace, user=None) -> dict:
    """Train one workspace's models; returns a summary (also for the command)."""
    from ai_features.capabilities.prediction.services import model_version_train
    from ai_features.jobs import job_run

    allowed, reason = access.jobs_enabled(workspace)
    if not allowed:
        return {"workspace": workspace.pk, "skipped": reason}
    with job_run(name="train_models", capability="prediction", workspace=workspace, total=1) as job:
        version = model_version_train(workspace=workspace, user=user)
        job.advance(1)
        summary = {
            "workspace": workspace.pk,
            "version": version.number,
            "status": version.status,
            "live": version.is_live,
            "metrics": {k: v for k, v in version.metrics.items() if k != "reliability"},
            "notes": version.notes,
        }
        job.set_result(**summary)
    return summary


def score_workspace(*, workspace: Workspace, progress=None) -> dict:
    """Score one workspace's current customers in chunks with a progress bar."""
    from ai_features.capabilities.prediction.selectors import model_version_live
    from ai_features.capabilities.prediction.services import contacts_score
    from ai_features.jobs import job_run

    allowed, reason = access.jobs_enabled(workspace)
    if not allowed:
        return {"workspace": workspace.pk, "skipped": reason}
    if model_version_live(workspace=workspace) is None:
        return {"workspace": workspace.pk, "skipped": "No published churn model yet."}
    total = Contact.objects.in_workspace(workspace).filter(lifecycle_stage="customer").count()
    with job_run(
        name="score_contacts",
        capability="prediction",
        workspace=workspace,
        total=total,
        progress=progress,
    ) as job:
        result = contacts_score(workspace=workspace, on_chunk=job.advance)
        summary = {
            "workspace": workspace.pk,
            "scored": result.scored,
            "high": result.high,
            "crossed_high": result.crossed_high,
        }
        job.set_result(**summary)
    return summary


@shared_task(name="prediction.train_models")
def train_models_task(workspace_id: int | None = None, user_id: int | None = None) -> list[dict]:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return [train_workspace(workspace=ws, user=user) for ws in _workspaces(workspace_id)]


@shared_task(name="prediction.score_contacts")
def score_contacts_task(workspace_id: int | None = None) -> list[dict]:
    return [score_workspace(workspace=ws) for ws in _workspaces(workspace_id)]


@shared_task(name="prediction.retrain_and_score")
def retrain_and_score_task(workspace_id: int, user_id: int | None = None) -> dict:
    trained = train_models_task(workspace_id=workspace_id, user_id=user_id)
    scored = score_contacts_task(workspace_id=workspace_id)
    return {"trained": trained, "scored": scored}
