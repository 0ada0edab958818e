"""The pipeline forecast: expected revenue by close month and stage (probability x
amount), the calibration of past probabilities on data with a known outcome rate, the
page and the API (gated, query count pinned)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from waffle.testutils import override_switch

from ai_features.capabilities.prediction.deal_features import WIN_FEATURES
from ai_features.capabilities.prediction.deal_selectors import forecast
from ai_features.capabilities.prediction.models import DealScore, ModelVersion
from crmcore import factories
from crmcore.models import Deal


def _score(deal, version, p, scored_at=None):
    return DealScore.objects.create(
        workspace=deal.workspace,
        deal=deal,
        model_version=version,
        probability=p,
        log_odds=0.0,
        scored_at=scored_at or timezone.now(),
    )


@pytest.fixture
def pipeline(workspace):
    """Open deals with known chances and amounts, and 100 deals that closed after being
    given 70% (70 won) and 20 given 20% (4 won)."""
    version = ModelVersion.objects.create(
        workspace=workspace,
        kind=ModelVersion.Kind.WIN,
        number=1,
        status=ModelVersion.Status.PUBLISHED,
        is_live=True,
        as_of=timezone.now(),
        feature_names=list(WIN_FEATURES),
        metrics={
            "reliability": [{"bin": "0.6-0.7", "count": 9, "predicted": 0.65, "observed": 0.66}]
        },
    )
    month = dt.date(2027, 1, 15)
    later = dt.date(2027, 2, 10)
    for stage, amount, p, close in [
        ("negotiation", "10000", 0.8, month),
        ("negotiation", "5000", 0.6, later),
        ("proposal", "20000", 0.25, month),
        ("lead", "1000", 0.1, None),
    ]:
        deal = factories.DealFactory(
            workspace=workspace, stage=stage, amount=Decimal(amount), expected_close=close
        )
        _score(deal, version, p)
    factories.DealFactory(workspace=workspace, stage="qualified", amount=Decimal("999"))  # unscored
    scored_at = timezone.now() - dt.timedelta(days=30)
    for k in range(100):
        deal = factories.DealFactory(workspace=workspace, stage="won" if k < 70 else "lost")
        Deal.objects.filter(pk=deal.pk).update(closed_at=timezone.now())
        _score(deal, version, 0.7, scored_at)
    for k in range(20):
        deal = factories.DealFactory(workspace=workspace, stage="won" if k < 4 else "lost")
        Deal.objects.filter(pk=deal.pk).update(closed_at=timezone.now())
        _score(deal, version, 0.2, scored_at)
    return workspace


def test_forecast__known_chances__expected_revenue_by_month_and_stage(pipeline):
    result = forecast(workspace=pipeline)

    by_month = {r.label: (r.deals, r.expected) for r in result.by_month}
    assert by_month == {
        "Jan 2027": (2, pytest.approx(10000 * 0.8 + 20000 * 0.25)),
        "Feb 2027": (1, pytest.approx(5000 * 0.6)),
        "No close date": (1, pytest.approx(100.0)),
    }
    assert [r.label for r in result.by_month][-1] == "No close date"
    by_stage = {r.label: (r.deals, r.pipeline, r.expected) for r in result.by_stage}
    assert by_stage == {
        "Lead": (1, Decimal("1000"), pytest.approx(100.0)),
        "Proposal": (1, Decimal("20000"), pytest.approx(5000.0)),
        "Negotiation": (2, Decimal("15000"), pytest.approx(11000.0)),
    }
    assert result.expected_total == pytest.approx(16100.0)
    assert result.unscored == 1


def test_forecast__past_probabilities__calibration_matches_the_known_outcome_rate(pipeline):
    calibration = forecast(workspace=pipeline).calibration

    assert calibration["outcomes"] == 120
    bins = {b["bin"]: (b["count"], b["predicted"], b["observed"]) for b in calibration["bins"]}
    assert bins == {"60-80%": (100, 0.7, 0.7), "20-40%": (20, 0.2, 0.2)}


def test_forecast_page__prediction_on__figures_shown_and_queries_pinned(
    pipeline, staff_client, prediction_on, django_assert_num_queries
):
    url = reverse("prediction:forecast")
    staff_client.get(url)
    with CaptureQueriesContext(connection) as first:
        response = staff_client.get(url)
    queries = len(first.captured_queries)
    html = response.content.decode()
    assert "$16,100" in html and "$36,000" in html
    assert 'data-testid="forecast-calibration"' in html
    assert "they were given 62% on average and 62% were won" in html
    # session, user, workspace; by month, by stage, open count, calibration, live version
    assert queries == 8
    for _ in range(10):
        deal = factories.DealFactory(workspace=pipeline, stage="proposal")
        _score(deal, DealScore.objects.first().model_version, 0.5)
    with django_assert_num_queries(queries):
        staff_client.get(url)


def test_forecast_api__prediction_on__same_figures(pipeline, staff_api_client, prediction_on):
    data = staff_api_client.get("/api/v1/prediction/forecast/").json()

    assert data["expected_total"] == 16100.0
    assert {r["label"]: r["expected"] for r in data["by_stage"]} == {
        "Lead": 100.0,
        "Proposal": 5000.0,
        "Negotiation": 11000.0,
    }
    assert data["calibration"]["outcomes"] == 120


def test_forecast__prediction_off_or_kill_switch__403(
    pipeline, staff_client, staff_api_client, enable_capability
):
    assert staff_client.get(reverse("prediction:forecast")).status_code == 403
    assert staff_api_client.get("/api/v1/prediction/forecast/").status_code == 403
    enable_capability("prediction")
    with override_switch("ai_kill_switch", active=True):
        assert staff_client.get(reverse("prediction:forecast")).status_code == 403
        assert staff_api_client.get("/api/v1/prediction/forecast/").status_code == 403
