"""The deal pipeline: top cards per stage through an index, totals from one aggregate, my deals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crmcore import factories, selectors
from crmcore.models import Deal

pytestmark = pytest.mark.django_db

REQUEST_QUERIES = 3  # session, user, workspace


def _names(columns, stage: str) -> list[str]:
    return [deal.name for deal in next(c for c in columns if c.stage == stage).deals]


def test_deal_pipeline__top_per_stage__largest_first_ties_by_newest_id(workspace, sandbox):
    for name, amount in [("a", 100), ("b", 500), ("c", 500), ("d", 50)]:
        factories.DealFactory(
            workspace=workspace, stage=Deal.Stage.PROPOSAL, name=name, amount=amount
        )
    factories.DealFactory(workspace=workspace, stage=Deal.Stage.WON, name="won", amount=1)
    factories.DealFactory(workspace=sandbox, stage=Deal.Stage.PROPOSAL, name="x", amount=10**6)

    columns = selectors.deal_pipeline(workspace=workspace, per_stage=3)

    assert _names(columns, "proposal") == ["c", "b", "a"]
    assert _names(columns, "won") == ["won"]
    proposal = next(c for c in columns if c.stage == "proposal")
    assert (proposal.count, proposal.total) == (4, Decimal("1150"))


def test_deal_pipeline__mine__only_the_owners_deals_and_totals(workspace, user):
    other = factories.UserFactory(username="other")
    factories.DealFactory(workspace=workspace, stage="lead", name="mine", amount=10, owner=user)
    factories.DealFactory(workspace=workspace, stage="lead", name="theirs", amount=99, owner=other)
    factories.DealFactory(workspace=workspace, stage="lead", name="nobody's", amount=5, owner=None)

    columns = selectors.deal_pipeline(workspace=workspace, owner_id=user.pk)

    lead = next(c for c in columns if c.stage == "lead")
    assert (lead.count, lead.total, _names(columns, "lead")) == (1, Decimal("10"), ["mine"])


def test_deal_pipeline__cards__load_only_what_a_card_shows(workspace):
    contact = factories.ContactFactory(workspace=workspace, first_name="Ada", last_name="Byron")
    factories.DealFactory(workspace=workspace, stage="lead", contact=contact, amount=1)

    with CaptureQueriesContext(connection) as captured:
        columns = selectors.deal_pipeline(workspace=workspace)
        deal = next(c for c in columns if c.stage == "lead").deals[0]
        assert deal.contact.full_name == "Ada Byron"

    assert len(captured.captured_queries) == 3
    cards = captured.captured_queries[-1]["sql"]
    # Joins for the rows shown only, and not every column of the contact.
    assert '"crmcore_deal"."id" IN' in cards
    assert '"crmcore_contact"."attributes"' not in cards


def test_deal_pipeline_page__mine__filters_and_marks_the_choice(logged_in_client, workspace, user):
    factories.DealFactory(workspace=workspace, stage="lead", name="Mine", owner=user)
    factories.DealFactory(workspace=workspace, stage="lead", name="Theirs")

    everyone = logged_in_client.get(reverse("deal-pipeline"))
    mine = logged_in_client.get(reverse("deal-pipeline"), {"mine": "1"})

    assert sorted(_names(everyone.context["columns"], "lead")) == ["Mine", "Theirs"]
    assert _names(mine.context["columns"], "lead") == ["Mine"]
    html = mine.content.decode()
    assert '<a href="/deals/?mine=1" aria-current="page" data-testid="pipeline-mine">' in html
    # Moving a card comes back to the same view.
    assert 'name="next" value="/deals/?mine=1"' in html


@pytest.mark.parametrize("mine", ["", "1"])
def test_deal_pipeline_page__query_count__same_with_ten_times_the_deals(
    logged_in_client, workspace, user, core_only, django_assert_num_queries, mine
):
    def load() -> int:
        with django_assert_num_queries(REQUEST_QUERIES + 3):
            response = logged_in_client.get(reverse("deal-pipeline"), {"mine": mine})
        return sum(len(column.deals) for column in response.context["columns"])

    factories.DealFactory.create_batch(2, workspace=workspace, stage="lead", owner=user)
    assert load() == 2
    factories.DealFactory.create_batch(20, workspace=workspace, stage="won", owner=user)
    assert load() == 22


def test_deal_pipeline_page__cards__draggable_with_the_script_from_a_file(
    logged_in_client, workspace
):
    deal = factories.DealFactory(workspace=workspace, stage="lead")

    html = logged_in_client.get(reverse("deal-pipeline")).content.decode()

    assert f'<article class="deal-card" data-deal="{deal.pk}" draggable="true">' in html
    assert '<section class="pipeline-column" data-stage="qualified"' in html
    assert 'src="/static/crmcore/pipeline.js"' in html
    assert "<script>" not in html


def test_deal_pipeline__top_cards_of_a_stage__read_in_order_from_the_index(workspace):
    factories.DealFactory.create_batch(3, workspace=workspace, stage="lead")
    top = (
        Deal.objects.in_workspace(workspace)
        .filter(stage="lead")
        .order_by("-amount", "-id")
        .values_list("id")[:50]
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A handful of rows: reading the whole table must not be an option.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            try:
                plan = top.explain()
            finally:
                cursor.execute("RESET enable_seqscan")
                cursor.execute("RESET enable_bitmapscan")
        assert "deal_ws_stage_amount" in plan
        assert "Sort" not in plan  # the index gives the order
    else:
        plan = top.explain()
        assert "deal_ws_stage_amount" in plan
        assert "TEMP B-TREE" not in plan
