"""Pilot evidence counts production only: a trainee's practice is not evidence."""

from __future__ import annotations

from ai_features.models import JobRun, SuggestionEvent
from ai_features.selectors import rollout_overview


def _events(workspace, user, action: str, n: int) -> None:
    SuggestionEvent.objects.bulk_create(
        SuggestionEvent(workspace=workspace, user=user, capability="prediction", action=action)
        for _ in range(n)
    )


def _prediction(overview):
    return next(c for c in overview.capabilities if c.key == "prediction")


def test_rollout_overview__sandbox_practice__not_counted(workspace, sandbox, user):
    # Given 4 production responses (1 accepted) and a trainee's 30 accepted suggestions
    _events(workspace, user, "shown", 5)
    _events(workspace, user, "accepted", 1)
    _events(workspace, user, "dismissed", 3)
    _events(sandbox, sandbox.owner, "shown", 30)
    _events(sandbox, sandbox.owner, "accepted", 30)

    prediction = _prediction(rollout_overview())

    # Then only production counts
    assert (prediction.shown, prediction.responses, prediction.accepted) == (5, 4, 1)
    assert prediction.acceptance_rate == 0.25
    assert sum(p.accepted for p in prediction.weekly) == 1
    check = next(c for c in prediction.readiness if c.label.startswith("Pilot acceptance rate"))
    assert check.passed is False


def test_rollout_overview__sandbox_job_failures_and_successes__not_counted(workspace, sandbox):
    JobRun.objects.create(
        name="score_contacts", capability="prediction", workspace=workspace, status="failed"
    )
    JobRun.objects.create(
        name="score_contacts", capability="prediction", workspace=workspace, status="succeeded"
    )
    JobRun.objects.bulk_create(
        JobRun(
            name="score_contacts", capability="prediction", workspace=sandbox, status="succeeded"
        )
        for _ in range(20)
    )

    prediction = _prediction(rollout_overview())

    check = next(c for c in prediction.readiness if c.label == "Error rate of its jobs")
    assert check.value == 0.5


def test_rollout_overview__edited_reply__counts_as_a_response(workspace, user):
    _events(workspace, user, "edited", 2)
    _events(workspace, user, "accepted", 2)

    assert _prediction(rollout_overview()).responses == 4
