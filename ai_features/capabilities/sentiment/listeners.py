"""Event listeners of the sentiment capability (wired in its ``ready()``)."""

from __future__ import annotations

import logging

from ai_features.scheduling import job_queue
from crmcore.events import Event
from crmcore.models import Workspace

logger = logging.getLogger(__name__)


def on_interactions_created(events: list[Event]) -> None:
    """The events committed together (already after commit): queue their analysis through the kit.

    One job per workspace for all the interactions logged or imported in one
    transaction, so an imported chunk is analysed in bulk.
    """
    by_workspace: dict[int, list[int]] = {}
    for event in events:
        if event.name == "interaction.created" and event.payload.get("id") is not None:
            by_workspace.setdefault(event.workspace_id, []).append(event.payload["id"])
    if not by_workspace:
        return
    for workspace in Workspace.objects.filter(pk__in=by_workspace):
        interaction_ids = by_workspace[workspace.pk]
        try:
            job_queue(
                "sentiment",
                "analyze_interactions",
                workspace=workspace,
                interaction_ids=interaction_ids,
            )
        except Exception:  # the broker being down must not break logging an interaction
            logger.exception(
                "Could not queue sentiment analysis of %d interactions", len(interaction_ids)
            )
