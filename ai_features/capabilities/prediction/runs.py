"""The prediction capability's jobs as plain functions: training, next needs, scoring.

Called by its Celery tasks and its management commands alike. Each runs only
where the gate for jobs allows it (answering ``{"skipped": reason}``), records
its progress as a JobRun, and is idempotent: training adds a version, scoring
replaces scores.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ai_features import gate
from ai_features.capabilities.prediction.deal_services import (
    WIN,
    deals_score,
    drift_check,
    needs_retraining,
    score_refresh_drain,
    win_version_train,
)
from ai_features.capabilities.prediction.selectors import model_version_live
from ai_features.capabilities.prediction.services import (
    contact_next_needs_refresh,
    contacts_score,
    model_version_train,
)
from ai_features.jobs import job_run
from crmcore.models import Contact, Deal, Workspace

CAPABILITY = "prediction"


def train_workspace(*, workspace: Workspace, user=None) -> dict:
    """Train one workspace's models; returns a summary (also for the command)."""
    decision = gate.jobs_allowed(CAPABILITY, workspace)
    if not decision:
        return {"workspace": workspace.pk, "skipped": decision.reason}
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


def next_needs_workspace(*, workspace: Workspace, progress=None) -> dict:
    """Store the next needs of every contact of one workspace, in chunks with a progress bar."""
    decision = gate.jobs_allowed(CAPABILITY, workspace)
    if not decision:
        return {"workspace": workspace.pk, "skipped": decision.reason}
    total = Contact.objects.in_workspace(workspace).count()
    with job_run(
        name="next_needs",
        capability="prediction",
        workspace=workspace,
        total=total,
        progress=progress,
    ) as job:
        result = contact_next_needs_refresh(workspace=workspace, on_chunk=job.advance)
        summary = {
            "workspace": workspace.pk,
            "contacts": result.contacts,
            "with_history": result.with_history,
            "kinds": result.kinds or {},
        }
        job.set_result(**summary)
    return summary


def score_workspace(*, workspace: Workspace, progress=None) -> dict:
    """Score one workspace's current customers in chunks with a progress bar.

    Their next products are their stored next needs: run ``next_needs_workspace`` first."""
    decision = gate.jobs_allowed(CAPABILITY, workspace)
    if not decision:
        return {"workspace": workspace.pk, "skipped": decision.reason}
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


def train_win_workspace(*, workspace: Workspace, user=None) -> dict:
    """Train one workspace's deal win model (published past the quality gate)."""
    decision = gate.jobs_allowed(CAPABILITY, workspace)
    if not decision:
        return {"workspace": workspace.pk, "skipped": decision.reason}
    with job_run(
        name="train_win_model", capability=CAPABILITY, workspace=workspace, total=1
    ) as job:
        version = win_version_train(workspace=workspace, user=user)
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


def score_deals_workspace(
    *, workspace: Workspace, progress=None, now: dt.datetime | None = None
) -> dict:
    """Score one workspace's open deals in chunks with a progress bar."""
    decision = gate.jobs_allowed(CAPABILITY, workspace)
    if not decision:
        return {"workspace": workspace.pk, "skipped": decision.reason}
    if model_version_live(workspace=workspace, kind=WIN) is None:
        return {"workspace": workspace.pk, "skipped": "No published win model yet."}
    total = Deal.objects.in_workspace(workspace).filter(stage__in=Deal.OPEN_STAGES).count()
    with job_run(
        name="score_deals",
        capability=CAPABILITY,
        workspace=workspace,
        total=total,
        progress=progress,
    ) as job:
        result = deals_score(workspace=workspace, on_chunk=job.advance, now=now)
        summary = {"workspace": workspace.pk, "scored": result.scored}
        job.set_result(**summary)
    return summary


def refresh_workspace(*, workspace: Workspace, now: dt.datetime | None = None) -> dict:
    """Re-score the customers and deals queued after a change (every minute)."""
    decision = gate.jobs_allowed(CAPABILITY, workspace)
    if not decision:
        return {"workspace": workspace.pk, "skipped": decision.reason}
    result = score_refresh_drain(workspace=workspace, now=now)
    return {"workspace": workspace.pk, "contacts": result.contacts, "deals": result.deals}


def nightly_workspace(*, workspace: Workspace, now: dt.datetime | None = None) -> dict:
    """The nightly run: check drift, retrain a model that is too old or has drifted
    (published only past the quality gate), store every contact's next needs, then
    re-score every customer and deal."""
    decision = gate.jobs_allowed(CAPABILITY, workspace)
    if not decision:
        return {"workspace": workspace.pk, "skipped": decision.reason}
    now = now or timezone.now()
    summary: dict = {"workspace": workspace.pk, "retrained": {}}
    win = model_version_live(workspace=workspace, kind=WIN)
    if win is not None:
        summary["drift_warnings"] = drift_check(version=win, now=now)["warnings"]
    churn = model_version_live(workspace=workspace)
    reasons = {
        "churn": needs_retraining(version=churn, now=now, check_drift=False),
        "win": needs_retraining(version=model_version_live(workspace=workspace, kind=WIN), now=now),
    }
    if reasons["churn"]:
        version = model_version_train(workspace=workspace)
        summary["retrained"]["churn"] = {"why": reasons["churn"], "version": version.number}
    if reasons["win"]:
        version = win_version_train(workspace=workspace, as_of=now)
        summary["retrained"]["win"] = {
            "why": reasons["win"],
            "version": version.number,
            "status": version.status,
        }
    summary["next_needs"] = next_needs_workspace(workspace=workspace)
    summary["contacts"] = score_workspace(workspace=workspace)
    summary["deals"] = score_deals_workspace(workspace=workspace, now=now)
    return summary
