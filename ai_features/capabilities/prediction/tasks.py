"""Celery tasks of the prediction capability, declared through the kit.

Each runs for one workspace where the gate for jobs allows it and calls one
function of ``runs`` (scheduled runs over every workspace go through
``ai_features.scheduling``).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from ai_features.capabilities.prediction import runs
from ai_features.plans import plan_task
from ai_features.scheduling import capability_task
from crmcore.models import Workspace


def _user(user_id: int | None):
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


@capability_task("prediction", "train_models")
def train_models_task(*, workspace: Workspace, user_id: int | None = None) -> dict:
    return runs.train_workspace(workspace=workspace, user=_user(user_id))


@capability_task("prediction", "next_needs")
def next_needs_task(*, workspace: Workspace) -> dict:
    return runs.next_needs_workspace(workspace=workspace)


@capability_task("prediction", "score_contacts")
def score_contacts_task(*, workspace: Workspace) -> dict:
    needs = runs.next_needs_workspace(workspace=workspace)
    scored = runs.score_workspace(workspace=workspace)
    return {"next_needs": needs, "scored": scored}


@capability_task("prediction", "retrain_and_score")
def retrain_and_score_task(*, workspace: Workspace, user_id: int | None = None) -> dict:
    trained = runs.train_workspace(workspace=workspace, user=_user(user_id))
    needs = runs.next_needs_workspace(workspace=workspace)
    scored = runs.score_workspace(workspace=workspace)
    return {"trained": trained, "next_needs": needs, "scored": scored}


@capability_task("prediction", "train_win_model")
def train_win_model_task(*, workspace: Workspace, user_id: int | None = None) -> dict:
    trained = runs.train_win_workspace(workspace=workspace, user=_user(user_id))
    scored = runs.score_deals_workspace(workspace=workspace)
    return {"trained": trained, "scored": scored}


@capability_task("prediction", "score_deals")
def score_deals_task(*, workspace: Workspace) -> dict:
    return runs.score_deals_workspace(workspace=workspace)


@capability_task("prediction", "refresh_scores")
def refresh_scores_task(*, workspace: Workspace) -> dict:
    return runs.refresh_workspace(workspace=workspace)


@capability_task("prediction", "nightly_refresh")
def nightly_refresh_task(*, workspace: Workspace) -> dict:
    return runs.nightly_workspace(workspace=workspace)


#: The daily release-plan check (declared in the capability's jobs and schedules).
release_plan_task = plan_task("prediction")
