"""Event listeners of the sentiment capability (wired in its ``ready()``)."""

from __future__ import annotations

import logging

from crmcore.events import Event
from crmcore.models import Workspace

logger = logging.getLogger(__name__)


def on_interaction_created(event: Event) -> None:
    """``interaction.created`` (already after commit): queue its analysis through the kit."""
    from ai_features.scheduling import job_queue

    if event.name != "interaction.created":
        return
    interaction_id = event.payload.get("id")
    workspace = Workspace.objects.filter(pk=event.workspace_id).first()
    if interaction_id is None or workspace is None:
        return
    try:
        job_queue(
            "sentiment",
            "analyze_interactions",
            workspace=workspace,
            interaction_ids=[interaction_id],
        )
    except Exception:  # the broker being down must not break logging an interaction
        logger.exception("Could not queue sentiment analysis of interaction %s", interaction_id)
