"""Background jobs of ai_features.

The ``celery_worker`` tests run eagerly in the normal runs and through a real
worker (Redis broker, a dedicated PostgreSQL database) in ``.ci/run``; they
use transactional tests so a worker sees the committed rows.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.db import transaction

from ai_features.metrics import suggestion_events_record_later
from ai_features.models import JobRun, SuggestionEvent
from ai_features.services import SuggestionEventInput
from ai_features.tasks import record_suggestion_events
from crmcore import factories
from crmcore.workspaces import production_workspace

# Transactional, and flushed with TRUNCATE ... CASCADE between tests (setting
# available_apps does that): on PostgreSQL waffle's own, swapped-out flag
# tables still reference auth tables.
job_db = pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS))


def _wait_for(predicate, *, timeout: float = 60.0) -> None:
    """Poll until ``predicate()`` holds (a worker needs a moment); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("the queued job did not finish")
        time.sleep(0.2)


def _inputs(workspace, user, n: int, capability: str = "sentiment"):
    return [
        SuggestionEventInput(
            capability=capability,
            action="shown" if i % 2 else "accepted",
            user_id=user.pk,
            workspace_id=workspace.pk,
            object_type="contact",
            object_id=i,
        )
        for i in range(n)
    ]


@pytest.mark.celery_worker
@job_db
def test_record_suggestion_events__queued_on_commit__recorded_by_the_worker():
    workspace = production_workspace()
    user = factories.UserFactory()
    with transaction.atomic():
        assert suggestion_events_record_later(events=_inputs(workspace, user, 5)) == 5
        assert SuggestionEvent.objects.count() == 0  # nothing before the commit
    _wait_for(
        lambda: (
            JobRun.objects.filter(name="record_suggestion_events")
            .exclude(status=JobRun.Status.RUNNING)
            .exists()
        )
    )
    run = JobRun.objects.get(name="record_suggestion_events")
    assert (run.status, run.capability, run.total, run.done) == ("succeeded", "", 5, 5)
    assert run.result == {"recorded": 5}
    assert sorted(SuggestionEvent.objects.values_list("object_id", flat=True)) == [0, 1, 2, 3, 4]


@pytest.mark.celery_worker
@job_db
def test_record_suggestion_events__rolled_back__nothing_queued():
    workspace = production_workspace()
    user = factories.UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        suggestion_events_record_later(events=_inputs(workspace, user, 2))
        raise RuntimeError("the request failed")
    with transaction.atomic():
        suggestion_events_record_later(events=_inputs(workspace, user, 1, "prediction"))
    _wait_for(lambda: JobRun.objects.exclude(status=JobRun.Status.RUNNING).exists())
    # One run, of the committed batch of one event; the rolled-back two never ran.
    assert list(JobRun.objects.values_list("total", flat=True)) == [1]
    assert list(SuggestionEvent.objects.values_list("capability", flat=True)) == ["prediction"]


def test_suggestion_events_record_later__unknown_action__value_error_nothing_queued(
    workspace, user, django_capture_on_commit_callbacks
):
    bad = SuggestionEventInput(
        capability="sentiment", action="liked", user_id=user.pk, workspace_id=workspace.pk
    )
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValueError):
        suggestion_events_record_later(events=[bad])
    assert callbacks == []


def test_record_suggestion_events__bad_payload__job_run_failed(db):
    with pytest.raises(TypeError):
        record_suggestion_events([{"capability": "sentiment", "nonsense": 1}])
    run = JobRun.objects.get()
    assert (run.status, run.capability) == ("failed", "")
    assert "nonsense" in run.message


def test_migration_0003__earlier_metric_runs__no_longer_filed_under_a_capability(db):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("ai_features.migrations.0003_metric_runs_without_capability")
    JobRun.objects.create(name="record_suggestion_events", capability="prediction")
    JobRun.objects.create(name="score_contacts", capability="prediction")

    migration.forwards(apps, schema_editor=None)

    assert sorted(JobRun.objects.values_list("name", "capability")) == [
        ("record_suggestion_events", ""),
        ("score_contacts", "prediction"),
    ]
