"""crmcore.selectors: workspace scoping, search, timeline and aggregates."""

from __future__ import annotations

import datetime as dt
import inspect
from decimal import Decimal

import pytest
from django.utils import timezone

from crmcore import factories, selectors
from crmcore.models import Contact, Deal

pytestmark = pytest.mark.django_db

SELECTORS = [
    selectors.contact_list,
    selectors.contact_get,
    selectors.contact_stage_counts,
    selectors.contact_timeline,
    selectors.account_get,
    selectors.account_contacts,
    selectors.account_deals,
    selectors.deal_stage_totals,
    selectors.deal_pipeline,
    selectors.dashboard_summary,
    selectors.interaction_recent,
    selectors.team_list,
    selectors.contact_owner_list,
    selectors.campaign_list,
]


@pytest.mark.parametrize("selector", SELECTORS, ids=lambda s: s.__name__)
def test_selector__signature__workspace_is_keyword_only(selector):
    parameters = inspect.signature(selector).parameters
    assert parameters["workspace"].kind is inspect.Parameter.KEYWORD_ONLY
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())


def test_contact_get__other_workspace__none(workspace, sandbox):
    theirs = factories.ContactFactory(workspace=sandbox)
    mine = factories.ContactFactory(workspace=workspace)
    assert selectors.contact_get(workspace=workspace, pk=theirs.pk) is None
    assert selectors.contact_get(workspace=workspace, pk=mine.pk) == mine


def test_account_get__other_workspace__none(workspace, sandbox):
    theirs = factories.AccountFactory(workspace=sandbox)
    assert selectors.account_get(workspace=workspace, pk=theirs.pk) is None
    assert selectors.account_get(workspace=sandbox, pk=theirs.pk) == theirs


def test_contact_list__every_word_must_match_some_field(workspace):
    acme = factories.AccountFactory(workspace=workspace, name="Acme")
    ada = factories.ContactFactory(
        workspace=workspace, first_name="Ada", last_name="King", account=acme
    )
    factories.ContactFactory(workspace=workspace, first_name="Ada", last_name="Other", account=None)
    assert list(selectors.contact_list(workspace=workspace, q="ada acme")) == [ada]
    assert list(selectors.contact_list(workspace=workspace, q="  KING ")) == [ada]


def test_contact_stage_counts__every_stage__zero_when_empty(workspace, sandbox):
    factories.ContactFactory.create_batch(2, workspace=workspace, lifecycle_stage="lead")
    factories.ContactFactory(workspace=sandbox, lifecycle_stage="churned")
    assert selectors.contact_stage_counts(workspace=workspace) == {
        "lead": 2,
        "customer": 0,
        "churned": 0,
    }


def test_contact_timeline__other_workspace_rows__excluded(workspace, sandbox):
    contact = factories.ContactFactory(workspace=workspace)
    mine = factories.InteractionFactory(workspace=workspace, contact=contact)
    # A row of another workspace pointing at the contact must not leak in.
    factories.InteractionFactory(workspace=sandbox, contact=contact)
    page = selectors.contact_timeline(workspace=workspace, contact=contact)
    assert [(e.kind, e.item) for e in page.entries] == [("interaction", mine)]
    assert page.total == 1


def test_contact_timeline__ties__ordered_by_id_descending(workspace):
    contact = factories.ContactFactory(workspace=workspace)
    moment = timezone.now()
    first, second = factories.InteractionFactory.create_batch(
        2, workspace=workspace, contact=contact, occurred_at=moment
    )
    page = selectors.contact_timeline(workspace=workspace, contact=contact)
    assert [e.item for e in page.entries] == [second, first]


def test_contact_timeline__empty_history__one_empty_page(workspace):
    contact = factories.ContactFactory(workspace=workspace)
    page = selectors.contact_timeline(workspace=workspace, contact=contact, page=4)
    assert (page.entries, page.number, page.num_pages, page.total) == ([], 1, 1, 0)
    assert (page.has_previous, page.has_next) == (False, False)


def test_contact_timeline__pages__fixed_queries(workspace, django_assert_num_queries):
    contact = factories.ContactFactory(workspace=workspace)
    now = timezone.now()
    factories.InteractionFactory.create_batch(
        30,
        workspace=workspace,
        contact=contact,
        occurred_at=factories.factory.Iterator(
            [now - dt.timedelta(hours=n + 1) for n in range(30)]
        ),
    )
    order = factories.OrderFactory(workspace=workspace, contact=contact, ordered_at=now)
    factories.OrderLineFactory.create_batch(2, workspace=workspace, order=order)
    # count, keys, interactions, orders, order lines (no deal on the page)
    with django_assert_num_queries(5):
        page = selectors.contact_timeline(workspace=workspace, contact=contact, per_page=10)
        lines = [line.product.name for line in page.entries[0].item.lines.all()]
    assert page.entries[0].kind == "order"
    assert len(lines) == 2
    assert (page.total, page.num_pages) == (31, 4)


def test_contact_timeline__bulk_fetches__unordered_so_looked_up_by_key(workspace):
    # Ordered by the models' dates, SQLite walked the workspace's whole date
    # index to sort a page of rows: the page grew slower with the workspace.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    contact = factories.ContactFactory(workspace=workspace)
    factories.InteractionFactory(workspace=workspace, contact=contact)
    factories.OrderFactory(workspace=workspace, contact=contact)
    factories.DealFactory(workspace=workspace, contact=contact)

    with CaptureQueriesContext(connection) as captured:
        page = selectors.contact_timeline(workspace=workspace, contact=contact)

    assert {entry.kind for entry in page.entries} == {"interaction", "order", "deal"}
    tables = ("crmcore_interaction", "crmcore_order", "crmcore_deal")
    bulk = [
        q["sql"]
        for q in captured.captured_queries
        if any(q["sql"].startswith(f'SELECT "{t}"."id"') for t in tables)
    ]
    assert len(bulk) == 3
    assert not [sql for sql in bulk if "ORDER BY" in sql]


def test_deal_pipeline__per_stage__keeps_largest(workspace):
    for amount in (100, 300, 200):
        factories.DealFactory(workspace=workspace, stage=Deal.Stage.LEAD, amount=amount)
    columns = {c.stage: c for c in selectors.deal_pipeline(workspace=workspace, per_stage=2)}
    assert [d.amount for d in columns["lead"].deals] == [Decimal("300"), Decimal("200")]
    assert (columns["lead"].count, columns["lead"].total) == (3, Decimal("600"))


def test_dashboard_summary__counts__open_deals_and_recent_interactions(workspace, sandbox):
    now = timezone.now()
    contact = factories.ContactFactory(workspace=workspace, lifecycle_stage=Contact.Stage.LEAD)
    factories.DealFactory(workspace=workspace, contact=contact, stage="negotiation", amount=700)
    factories.DealFactory(workspace=workspace, contact=contact, stage="lost", amount=50)
    factories.DealFactory(workspace=sandbox, stage="negotiation", amount=1)
    factories.InteractionFactory(
        workspace=workspace, contact=contact, occurred_at=now - dt.timedelta(days=29)
    )
    factories.InteractionFactory(
        workspace=workspace, contact=contact, occurred_at=now - dt.timedelta(days=31)
    )

    summary = selectors.dashboard_summary(workspace=workspace, now=now)

    assert summary.contact_count == 1
    assert (summary.open_deal_count, summary.open_deal_value) == (1, Decimal("700"))
    assert list(summary.open_deals_by_stage) == list(Deal.OPEN_STAGES)
    assert summary.recent_interaction_count == 1


def test_contact_owner_list__owners_of_workspace_contacts_only(workspace, sandbox):
    mine = factories.UserFactory(username="mine")
    theirs = factories.UserFactory(username="theirs")
    factories.ContactFactory.create_batch(2, workspace=workspace, owner=mine)
    factories.ContactFactory(workspace=sandbox, owner=theirs)
    assert list(selectors.contact_owner_list(workspace=workspace)) == [mine]
