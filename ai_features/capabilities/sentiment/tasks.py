"""Celery tasks of the sentiment capability (eager when no broker is configured).

Declared through the kit (``ai_features.scheduling.capability_task``): each
runs only where the gate for jobs allows it and calls one service.
"""

from __future__ import annotations

from ai_features.capabilities.sentiment import services
from ai_features.plans import plan_task
from ai_features.scheduling import capability_task
from crmcore.models import Workspace


@capability_task("sentiment", "analyze_workspace")
def analyze_workspace_task(*, workspace: Workspace, reanalyze: bool = False) -> dict:
    """Analyse a workspace's new or changed interactions (all with ``reanalyze``)."""
    summary = services.sentiment_analyze_interactions(
        workspace=workspace, reanalyze=reanalyze, check_gate=False
    )
    return {"analysed": summary.analysed, "unchanged": summary.unchanged}


@capability_task("sentiment", "analyze_interactions")
def analyze_interactions_task(*, workspace: Workspace, interaction_ids: list[int]) -> dict:
    """Analyse some interactions, e.g. one just created."""
    summary = services.sentiment_analyze_interactions(
        workspace=workspace, interaction_ids=list(interaction_ids), check_gate=False
    )
    return {"analysed": summary.analysed, "unchanged": summary.unchanged}


@capability_task("sentiment", "train_model")
def train_model_task(*, workspace: Workspace) -> dict:
    """Train the workspace's tone model on its corrections."""
    card = services.sentiment_model_train(workspace=workspace)
    if card is None:
        return {"version": None}
    return {"version": card.version, "published": card.is_active}


#: The daily release-plan check (declared in the capability's jobs and schedules).
release_plan_task = plan_task("sentiment")
