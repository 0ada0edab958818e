"""Models that stay fresh on their own, on a fixed clock: the nightly schedule
re-scores everyone and retrains the win model when the data drifted (through the
quality gate, with a ``model.drift_detected`` event), and a new order moves one
customer's score minutes later through the refresh queue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from ai_features.capabilities.prediction import deal_services, services
from ai_features.capabilities.prediction.models import (
    ContactScore,
    DealScore,
    ModelVersion,
    ScoreRefresh,
)
from ai_features.scheduling import due_jobs_run, schedules_ensure
from crmcore import services as crm
from crmcore.models import Contact, Deal, OutboxEvent, Product
from training_sandbox.generator import generate_workspace_data

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
NIGHT = dt.datetime(2026, 11, 3, 2, 31, tzinfo=dt.UTC)  # just after the 02:30 schedule
OURS = ("prediction: nightly refresh", "prediction: score refresh")


@pytest.fixture
def clock(monkeypatch):
    now = [NOW]
    monkeypatch.setattr(timezone, "now", lambda: now[0])
    return now


@pytest.fixture
def fresh(workspace, prediction_on, settings, clock):
    """Demo data with a published churn and win model, scored at NOW; only the
    prediction schedules enabled, last run at NOW."""
    settings.AI_PREDICTION_MIN_AUC = 0.5
    generate_workspace_data(workspace=workspace, contacts=300, seed=7, now=NOW)
    assert services.model_version_train(workspace=workspace).is_live
    services.contacts_score(workspace=workspace)
    assert deal_services.win_version_train(workspace=workspace).is_live
    deal_services.deals_score(workspace=workspace)
    ScoreRefresh.objects.all().delete()
    schedules_ensure()
    PeriodicTask.objects.exclude(name__in=OURS).update(enabled=False)
    PeriodicTask.objects.filter(name__in=OURS).update(last_run_at=NOW)
    return workspace


def test_nightly_schedule__drifted_deals__rescored_and_win_model_retrained(fresh, clock):
    # The open deals grow twentyfold: their amounts against the accounts' usual drift.
    Deal.objects.filter(workspace=fresh, stage__in=Deal.OPEN_STAGES).update(amount=F("amount") * 20)
    clock[0] = NIGHT

    ran = {run.name: run.result for run in due_jobs_run(now=NIGHT)}

    assert set(ran) == set(OURS)
    versions = ModelVersion.objects.filter(workspace=fresh, kind=ModelVersion.Kind.WIN)
    assert versions.count() == 2  # retrained (published or not: the quality gate decides)
    first = versions.get(number=1)
    assert any("amount_vs_usual" in w for w in first.drift["warnings"])
    assert first.drift["features"]["amount_vs_usual"] > 0.25
    event = OutboxEvent.objects.get(workspace=fresh, name="model.drift_detected")
    assert "amount_vs_usual" in event.payload["drifted_features"]
    open_deals = Deal.objects.filter(workspace=fresh, stage__in=Deal.OPEN_STAGES).count()
    scores = DealScore.objects.filter(workspace=fresh, deal__stage__in=Deal.OPEN_STAGES)
    assert scores.filter(scored_at=NIGHT).count() == open_deals
    customers = Contact.objects.filter(workspace=fresh, lifecycle_stage="customer").count()
    assert ContactScore.objects.filter(workspace=fresh, scored_at=NIGHT).count() == customers


def test_nightly_schedule__nothing_drifted_or_old__scores_refreshed_no_retraining(fresh, clock):
    clock[0] = NIGHT

    due_jobs_run(now=NIGHT)

    first = ModelVersion.objects.get(workspace=fresh, kind="win", number=1)
    assert first.drift["warnings"] == [], first.drift
    assert ModelVersion.objects.filter(workspace=fresh, kind="win").count() == 1
    assert not OutboxEvent.objects.filter(name="model.drift_detected").exists()
    assert DealScore.objects.filter(workspace=fresh, scored_at=NIGHT).exists()


def test_new_order__customer_score_moves_within_minutes_in_one_bulk_refresh(
    fresh, clock, django_capture_on_commit_callbacks
):
    # The customer at the highest churn risk: an order today changes its recency most.
    score = ContactScore.objects.filter(workspace=fresh).order_by("-probability").first()
    contact = score.contact
    deal = Deal.objects.filter(workspace=fresh, stage=Deal.Stage.LEAD).first()
    deal_before = DealScore.objects.get(deal=deal).probability
    product = Product.objects.filter(workspace=fresh).first()
    clock[0] = NOW + dt.timedelta(minutes=3)
    with django_capture_on_commit_callbacks(execute=True):
        crm.order_create(
            workspace=fresh,
            contact=contact,
            lines=[crm.OrderLineInput(product=product, quantity=3, unit_price=Decimal("400"))],
        )
        crm.deal_stage_change(deal=deal, stage=Deal.Stage.NEGOTIATION)
    queued = set(ScoreRefresh.objects.values_list("kind", "object_id"))
    assert {("contact", contact.pk), ("deal", deal.pk)} <= queued
    assert ContactScore.objects.get(pk=score.pk).probability == score.probability  # not yet

    clock[0] = NOW + dt.timedelta(minutes=4)
    ran = {run.name: run.result for run in due_jobs_run(now=clock[0])}

    assert set(ran) == {"prediction: score refresh"}
    after = ContactScore.objects.get(pk=score.pk)
    assert after.scored_at == clock[0]
    assert after.probability < score.probability
    moved = DealScore.objects.get(deal=deal)
    assert moved.scored_at == clock[0] and moved.probability > deal_before
    assert not ScoreRefresh.objects.filter(workspace=fresh).exists()
