"""Celery tasks of the sentiment capability (eager when no broker is configured).

Each task checks the gate for its workspace and does nothing while the
capability is off there (kill switch, flag off).
"""

from __future__ import annotations

import logging

from crmcore.celery import app

logger = logging.getLogger(__name__)


def _workspace(workspace_id: int):
    from crmcore.models import Workspace

    return Workspace.objects.filter(pk=workspace_id).first()


@app.task(name="ai_sentiment.analyze_workspace")
def analyze_workspace_task(workspace_id: int, reanalyze: bool = False) -> dict:
    """Analyse a workspace's new or changed interactions (all with ``reanalyze``)."""
    from ai_features.capabilities.sentiment import selectors, services

    workspace = _workspace(workspace_id)
    if workspace is None or not selectors.sentiment_job_allowed(workspace=workspace):
        return {"skipped": True}
    summary = services.sentiment_analyze_interactions(workspace=workspace, reanalyze=reanalyze)
    return {"skipped": False, "analysed": summary.analysed, "unchanged": summary.unchanged}


@app.task(name="ai_sentiment.analyze_interactions")
def analyze_interactions_task(workspace_id: int, interaction_ids: list[int]) -> dict:
    """Analyse some interactions, e.g. one just created."""
    from ai_features.capabilities.sentiment import selectors, services

    workspace = _workspace(workspace_id)
    if workspace is None or not selectors.sentiment_job_allowed(workspace=workspace):
        return {"skipped": True}
    summary = services.sentiment_analyze_interactions(
        workspace=workspace, interaction_ids=list(interaction_ids)
    )
    return {"skipped": False, "analysed": summary.analysed, "unchanged": summary.unchanged}


@app.task(name="ai_sentiment.train_model")
def train_model_task(workspace_id: int) -> dict:
    """Train the workspace's tone model on its corrections."""
    from ai_features.capabilities.sentiment import selectors, services

    workspace = _workspace(workspace_id)
    if workspace is None or not selectors.sentiment_job_allowed(workspace=workspace):
        return {"skipped": True}
    card = services.sentiment_model_train(workspace=workspace)
    if card is None:
        return {"skipped": False, "version": None}
    return {"skipped": False, "version": card.version, "published": card.is_active}


def on_interactions_created(events) -> None:
    """Listener of the events committed together (already after commit): queue their analysis.

    One task per workspace for all the interactions logged or imported in one
    transaction, so an imported chunk is analysed in bulk.
    """
    by_workspace: dict[int, list[int]] = {}
    for event in events:
        if event.name == "interaction.created" and event.payload.get("id") is not None:
            by_workspace.setdefault(event.workspace_id, []).append(event.payload["id"])
    for workspace_id, interaction_ids in by_workspace.items():
        try:
            analyze_interactions_task.delay(workspace_id, interaction_ids)
        except Exception:  # the broker being down must not break logging an interaction
            logger.exception(
                "Could not queue sentiment analysis of %d interactions", len(interaction_ids)
            )
