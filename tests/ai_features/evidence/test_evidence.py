"""The evidence per capability, from production rows only, in one sentence per outcome."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from django.utils import timezone

from ai_features.evidence import evidence_all, guardrail_sentence
from ai_features.models import Exposure, JobRun, SuggestionEvent
from crmcore import factories
from crmcore.models import Deal

NOW = timezone.now()


def _deals(workspace, reps, *, exposed_at=None, lift=0.0, lose_all=False):
    """A deal closed every day for 60 days, won at 30% (+ ``lift`` after exposure)."""
    rows = []
    for n, rep in enumerate(reps):
        rng = random.Random(n)
        for i, days_ago in enumerate(range(60, 0, -1)):
            closed = NOW - dt.timedelta(days=days_ago, hours=1)
            after = exposed_at is not None and closed >= exposed_at
            won = rng.random() < 0.3 + (lift if after else 0) and not lose_all
            rows.append(
                Deal(
                    workspace=workspace,
                    name=f"deal {rep.pk}-{i}",
                    owner=rep,
                    stage=Deal.Stage.WON if won else Deal.Stage.LOST,
                    closed_at=closed,
                )
            )
    Deal.objects.bulk_create(rows)


@pytest.fixture
def reps(workspace):
    exposed = factories.UserFactory.create_batch(12)
    others = factories.UserFactory.create_batch(14)
    at = NOW - dt.timedelta(days=21)
    Exposure.objects.bulk_create(
        Exposure(user=u, capability="prediction", first_at=at, rule="pilot team") for u in exposed
    )
    return exposed, others, at


def test_a_lift_reads_as_one_sentence_with_interval_users_and_weeks(workspace, reps):
    exposed, others, at = reps
    _deals(workspace, exposed, exposed_at=at, lift=0.4)
    _deals(workspace, others)
    deals_won = evidence_all(now=NOW)["prediction"].outcomes[0]
    est = deals_won.estimate
    assert est.enough and (est.exposed_users, est.control_users) == (12, 14)
    assert 0 < est.low < 0.4 < est.high
    assert deals_won.verdict == "better"
    assert re.fullmatch(
        r"Deals-won rate \+\d+\.\d points \(95% CI \+\d+\.\d to \+\d+\.\d\) "
        r"for 12 exposed reps against 14 not yet exposed, over 3 weeks\.",
        deals_won.sentence,
    ), deals_won.sentence


def test_sandbox_deals_and_runs_change_nothing(workspace, sandbox, reps):
    exposed, others, at = reps
    _deals(workspace, exposed, exposed_at=at, lift=0.4)
    _deals(workspace, others)
    before = evidence_all(now=NOW)["prediction"]
    # A trainee practising with the same reps' names: all lost, jobs failing, all dismissed.
    _deals(sandbox, exposed, lose_all=True)
    JobRun.objects.bulk_create(
        JobRun(name="score", capability="prediction", workspace=sandbox, status="failed")
        for _ in range(30)
    )
    SuggestionEvent.objects.bulk_create(
        SuggestionEvent(workspace=sandbox, capability="prediction", action="dismissed")
        for _ in range(30)
    )
    after = evidence_all(now=NOW)["prediction"]
    assert after.outcomes[0].estimate == before.outcomes[0].estimate
    assert [g.value for g in after.guardrails] == [None, None, None]


def test_too_few_reps_says_not_enough_data_yet(workspace):
    few = factories.UserFactory.create_batch(3)
    Exposure.objects.bulk_create(
        Exposure(user=u, capability="prediction", first_at=NOW - dt.timedelta(days=10)) for u in few
    )
    _deals(workspace, few + factories.UserFactory.create_batch(2))
    sentence = evidence_all(now=NOW)["prediction"].outcomes[0].sentence
    assert sentence == (
        "Deals-won rate: not enough data yet (3 exposed reps against 2 not yet exposed, "
        "255 closed deals; at least 10 reps on each side and 100 closed deals needed)."
    )


def test_exposed_but_no_observations_yet(workspace, reps):
    sentence = evidence_all(now=NOW)["prediction"].outcomes[1].sentence
    assert sentence == (
        "At-risk customers retained after 60 days: not enough data yet "
        "(no churn warnings in the window yet)."
    )


def test_nobody_exposed_yet(workspace):
    evidence = evidence_all(now=NOW)
    assert evidence["sentiment"].outcomes[0].sentence == (
        "Time to answer a negative or urgent message: not enough data yet "
        "(no rep has had Sentiment)."
    )
    assert [o.outcome.name for o in evidence["personalization"].outcomes] == [
        "replies",
        "unsubscribes",
    ]


def test_guardrails_count_production_job_runs_and_responses(workspace, user):
    JobRun.objects.bulk_create(
        JobRun(name="score", capability="prediction", workspace=workspace, status=status)
        for status in ["failed"] * 3 + ["succeeded"] * 27
    )
    SuggestionEvent.objects.bulk_create(
        SuggestionEvent(workspace=workspace, capability="prediction", action=action, user=user)
        for action in ["dismissed"] * 10 + ["accepted"] * 9 + ["reported"] + ["shown"] * 50
    )
    errors, dismissals, complaints = evidence_all(now=timezone.now())["prediction"].guardrails
    assert (errors.value, errors.count, errors.breached) == (0.1, 30, True)
    assert not errors.severely_breached
    assert guardrail_sentence(errors) == (
        "Job error rate: 10.0% of 30 job runs; bound 5%, severe above 25%."
    )
    assert (dismissals.value, dismissals.count) == (0.5, 20)
    assert (complaints.value, complaints.breached) == (0.05, True)
