"""Celery tasks of the ai_features app. Queue them with transaction.on_commit
(see ``ai_features.metrics.suggestion_events_record_later``)."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from ai_features.jobs import job_run
from ai_features.preparation import workspace_prepare
from ai_features.services import SuggestionEventInput, suggestion_events_record
from crmcore.models import Workspace


@shared_task(name="ai_features.record_suggestion_events", acks_late=True)
def record_suggestion_events(events: list[dict]) -> int:
    """Record a batch of pilot-metric events (JSON dicts of SuggestionEventInput).

    The run belongs to no capability: a capability's jobs are its own work
    (analysis, training, scoring), and the rollout page's readiness check
    divides its failed jobs by them. Counting a run per page view that showed
    a suggestion would have hidden a failing capability behind its traffic.
    """
    with (
        job_run(name="record_suggestion_events", capability="", total=len(events)) as job,
        transaction.atomic(),
    ):
        # The events and the run's progress commit together: a delivery that
        # takes over a run whose events are recorded does not record them twice.
        count = job.done_before or suggestion_events_record(
            events=[SuggestionEventInput(**e) for e in events]
        )
        job.advance(count)
        job.set_result(recorded=count)
    return count


@shared_task(name="ai_features.prepare_workspace", acks_late=True)
def prepare_workspace_task(workspace_id: int) -> dict:
    """Make a workspace's AI ready (a new or reset training sandbox)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return {"skipped": "The workspace no longer exists."}
    return workspace_prepare(workspace=workspace)
