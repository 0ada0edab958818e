"""Win probability on the deal page, pipeline cards, the sortable table and the API:
flag on (presence and the stored value), off, and under the kill switch; query counts."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from waffle.testutils import override_switch

from ai_features.capabilities.prediction.deal_features import WIN_FEATURES
from ai_features.capabilities.prediction.models import DealScore, ModelVersion
from crmcore import factories
from crmcore.models import Deal

COL = {name: j for j, name in enumerate(WIN_FEATURES)}


@pytest.fixture
def win_scored(workspace):
    """A live win model and three scored open deals (72%, 40%, 9%), one unscored, one won."""
    version = ModelVersion.objects.create(
        workspace=workspace,
        kind=ModelVersion.Kind.WIN,
        number=1,
        status=ModelVersion.Status.PUBLISHED,
        is_live=True,
        as_of=timezone.now(),
        feature_names=list(WIN_FEATURES),
        coefficients=[0.1] * len(WIN_FEATURES),
        intercept=-0.5,
    )
    deals = [
        factories.DealFactory(workspace=workspace, name=name, stage=stage, amount=Decimal(amount))
        for name, stage, amount in [
            ("Rocket fuel", "negotiation", "10000"),
            ("Paper cups", "proposal", "5000"),
            ("Steel beams", "lead", "20000"),
            ("Unscored", "qualified", "1000"),
        ]
    ]
    won = factories.DealFactory(workspace=workspace, name="Done", stage="won")
    for deal, p in zip(deals[:3], (0.72, 0.40, 0.09), strict=False):
        log_odds = math.log(p / (1 - p))
        factors = [
            [COL["touches_14d"], 0.9, 6.0],
            [COL["days_in_stage"], -0.4, 41.0],
            [COL["discount_percent"], -0.2, 25.0],
        ]
        DealScore.objects.create(
            workspace=workspace,
            deal=deal,
            model_version=version,
            probability=p,
            log_odds=log_odds,
            factors=factors,
            rest=log_odds + 0.5 - 0.3,
        )
    DealScore.objects.create(
        workspace=workspace, deal=won, model_version=version, probability=0.5, log_odds=0.0
    )
    return deals


def _panel(response) -> str:
    html = response.content.decode()
    return html if 'data-testid="win-panel"' in html else ""


def test_deal_page__prediction_on__chance_and_factors_in_words(
    win_scored, logged_in_client, prediction_on
):
    response = logged_in_client.get(reverse("deal-detail", args=[win_scored[0].pk]))

    html = _panel(response)
    assert 'data-testid="win-probability">72%<' in html
    raising = html.split('data-testid="win-raising"')[1].split("</ul>")[0]
    lowering = html.split('data-testid="win-lowering"')[1].split("</ul>")[0]
    assert "6 interactions with the contact in the last 14 days" in raising
    assert "In this stage for 41 days" in lowering and "Discount of 25%" in lowering


def test_deal_page__prediction_off__no_panel(win_scored, logged_in_client):
    response = logged_in_client.get(reverse("deal-detail", args=[win_scored[0].pk]))

    assert response.status_code == 200 and _panel(response) == ""


def test_deal_page__kill_switch__no_panel(win_scored, logged_in_client, prediction_on):
    with override_switch("ai_kill_switch", active=True):
        response = logged_in_client.get(reverse("deal-detail", args=[win_scored[0].pk]))

    assert response.status_code == 200 and _panel(response) == ""


def _badges(response) -> dict[str, str]:
    html = response.content.decode()
    found = {}
    for card in html.split('<article class="deal-card"')[1:]:
        name = card.split("<strong>")[1].split("</strong>")[0]
        badge = re.search(r'class="badge deal-badge[^"]*"[^>]*>([^<]*)<', card)
        if badge:
            found[name] = badge.group(1)
    return found


def test_pipeline__prediction_on__badge_with_the_stored_chance_on_scored_open_deals(
    win_scored, logged_in_client, prediction_on
):
    badges = _badges(logged_in_client.get(reverse("deal-pipeline")))

    assert badges == {"Rocket fuel": "72%", "Paper cups": "40%", "Steel beams": "9%"}


@pytest.mark.parametrize("switch", [False, True])
def test_pipeline__prediction_off_or_kill_switch__no_badge(
    win_scored, logged_in_client, enable_capability, switch
):
    if switch:
        enable_capability("prediction")
    with override_switch("ai_kill_switch", active=switch):
        response = logged_in_client.get(reverse("deal-pipeline"))

    assert response.status_code == 200 and _badges(response) == {}


def test_pipeline__prediction_on__badges_cost_one_query(
    win_scored, logged_in_client, prediction_on, django_assert_num_queries
):
    logged_in_client.get(reverse("deal-pipeline"))  # warm the flag caches
    with CaptureQueriesContext(connection) as baseline:
        logged_in_client.get(reverse("deal-pipeline"))
    # session, user, workspace, stage totals, the top card ids, the cards shown,
    # and one for every badge
    queries = len(baseline.captured_queries)
    assert queries == 7
    assert sum("prediction_dealscore" in q["sql"] for q in baseline.captured_queries) == 1
    for k in range(20):
        factories.DealFactory(workspace=win_scored[0].workspace, name=f"More {k}")
    with django_assert_num_queries(queries):
        logged_in_client.get(reverse("deal-pipeline"))


def test_deal_table__sorted_by_chance__both_ways_and_pinned_queries(
    win_scored, logged_in_client, prediction_on, django_assert_num_queries
):
    url = reverse("prediction:deal-table")
    logged_in_client.get(url)
    with CaptureQueriesContext(connection) as first:
        response = logged_in_client.get(url + "?sort=win")
    # session, user, workspace, and the scored deals with their account and owner
    queries = len(first.captured_queries)
    assert queries == 4
    html = response.content.decode()
    order = [n for n in ("Rocket fuel", "Paper cups", "Steel beams") if n in html]
    assert sorted(order, key=html.index) == ["Rocket fuel", "Paper cups", "Steel beams"]
    assert "Done" not in html and "Unscored" not in html
    ascending = logged_in_client.get(url + "?sort=-win").content.decode()
    assert ascending.index("Steel beams") < ascending.index("Rocket fuel")
    assert logged_in_client.get(url + "?sort=%27;drop").status_code == 200  # unknown: default
    for _k in range(5):
        deal = factories.DealFactory(workspace=win_scored[0].workspace, stage="lead")
        DealScore.objects.create(
            workspace=deal.workspace,
            deal=deal,
            model_version=DealScore.objects.first().model_version,
            probability=0.5,
            log_odds=0.0,
        )
    with django_assert_num_queries(queries):
        logged_in_client.get(url + "?sort=win")


def test_deal_table__prediction_off__403_with_the_reason(win_scored, logged_in_client):
    response = logged_in_client.get(reverse("prediction:deal-table"))

    assert response.status_code == 403


def _api_deals(api_client) -> dict[str, dict]:
    return {d["name"]: d for d in api_client.get("/api/v1/deals/").json()["results"]}


def test_deal_api__prediction_on__win_probability_with_the_stored_value(
    win_scored, api_client, prediction_on
):
    deals = _api_deals(api_client)

    assert deals["Rocket fuel"]["win_probability"] == 0.72
    assert deals["Steel beams"]["win_probability"] == 0.09
    assert deals["Unscored"]["win_probability"] is None
    assert deals["Done"]["win_probability"] is None  # closed: no chance shown
    detail = api_client.get(f"/api/v1/prediction/deals/{win_scored[1].pk}/").json()
    assert detail["win_probability"] == 0.4
    assert [f["text"] for f in detail["explanation"]["lowering"]] == [
        "In this stage for 41 days",
        "Discount of 25%",
    ]


def test_deal_api__prediction_off__no_field_and_403(win_scored, api_client):
    assert "win_probability" not in _api_deals(api_client)["Rocket fuel"]
    response = api_client.get(f"/api/v1/prediction/deals/{win_scored[0].pk}/")
    assert response.status_code == 403


def test_deal_api__kill_switch__no_field_and_403(win_scored, api_client, prediction_on):
    with override_switch("ai_kill_switch", active=True):
        assert "win_probability" not in _api_deals(api_client)["Rocket fuel"]
        response = api_client.get(f"/api/v1/prediction/deals/{win_scored[0].pk}/")
    assert response.status_code == 403


def test_deal_api__hostile_ids__404_not_500(win_scored, api_client, prediction_on):
    assert api_client.get("/api/v1/prediction/deals/999999/").status_code == 404
    other = factories.DealFactory(workspace=factories.WorkspaceFactory())
    assert api_client.get(f"/api/v1/prediction/deals/{other.pk}/").status_code == 404


def test_explanation__stored_factors__add_up_to_the_log_odds(win_scored, workspace):
    from ai_features.capabilities.prediction.deal_selectors import deal_prediction

    deal = Deal.objects.get(pk=win_scored[0].pk)
    prediction = deal_prediction(workspace=workspace, deal=deal)
    e = prediction.explanation
    total = e.intercept + sum(f.contribution for f in e.factors) + e.rest
    assert total == pytest.approx(e.log_odds)
    assert prediction.probability == pytest.approx(0.72)
    assert json.dumps(e.as_dict())  # serialisable for the API
