"""Celery tasks of the ai_features app. Queue them with transaction.on_commit
(see ``ai_features.services.suggestion_events_record_later``)."""

from __future__ import annotations

from celery import shared_task

from ai_features.jobs import job_run
from ai_features.services import SuggestionEventInput, suggestion_events_record


@shared_task(name="ai_features.record_suggestion_events", acks_late=True)
def record_suggestion_events(events: list[dict]) -> int:
    """Record a batch of pilot-metric events (JSON dicts of SuggestionEventInput)."""
    capabilities = sorted({e["capability"] for e in events})
    with job_run(
        name="record_suggestion_events",
        capability=capabilities[0] if len(capabilities) == 1 else "",
        total=len(events),
    ) as job:
        count = suggestion_events_record(events=[SuggestionEventInput(**e) for e in events])
        job.advance(count)
        job.set_result(recorded=count)
    return count
