"""Next needs: repeat purchases, sequences, baskets and popularity, their reasons,
their storage for every contact, the facade, the panel and the evaluation."""

import datetime as dt
import pickle
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from waffle.testutils import override_switch

from ai_features.capabilities.prediction import runs, services
from ai_features.capabilities.prediction.facade import NextNeed
from ai_features.capabilities.prediction.models import ContactNextNeeds
from ai_features.capabilities.prediction.next_needs import (
    Basket,
    NextNeedModel,
    PurchaseLine,
    baskets_from_lines,
    most_frequent,
    next_need_metrics,
    purchase_histories,
)
from ai_features.facades import facade_for
from ai_features.models import JobRun
from crmcore import factories
from crmcore.models import Contact, Order
from training_sandbox.generator.retail import retail_log

TODAY = dt.date(2026, 12, 1).toordinal()
#: Queries the prediction panel adds to the contact page, whatever the contact.
PANEL_QUERIES = 4
CUPS, LIDS, BEANS, STARTER, PRO, MUGS = 1, 2, 3, 4, 5, 6
NAMES = {
    CUPS: "Paper cups",
    LIDS: "Cup lids",
    BEANS: "Coffee beans",
    STARTER: "Starter kit",
    PRO: "Refill pack",
    MUGS: "Mugs",
}


def _baskets(*days_and_products):
    return [Basket(TODAY - days, frozenset(products)) for days, products in days_and_products]


def _fitted():
    histories = {
        # regulars: paper cups every 31 days
        1: _baskets((120, [CUPS]), (89, [CUPS]), (58, [CUPS]), (29, [CUPS])),
        # a starter kit is followed by refills
        **{10 + k: _baskets((90, [STARTER]), (40, [PRO])) for k in range(6)},
        # cups and lids go together
        **{20 + k: _baskets((30, [MUGS, LIDS])) for k in range(5)},
        **{30 + k: _baskets((30, [BEANS])) for k in range(9)},
    }
    return NextNeedModel.fit(histories, NAMES)


def test_recommend__cycle_due__reorder_first_with_its_interval_in_words():
    model = _fitted()
    history = _baskets((120, [CUPS]), (89, [CUPS]), (58, [CUPS]), (29, [CUPS]))

    needs = model.recommend(history, today=TODAY + 0)

    assert needs[0].product_id == CUPS
    assert needs[0].kind == "reorder"
    assert needs[0].reason == "Reorder of Paper cups is due: every 31 days, last 29 days ago"


def test_recommend__cycle_not_due__says_when():
    model = _fitted()
    history = _baskets((71, [CUPS]), (40, [CUPS]), (9, [CUPS]))

    [need] = [n for n in model.recommend(history, today=TODAY) if n.product_id == CUPS]

    assert need.reason == "Reorder of Paper cups due in 22 days: every 31 days, last 9 days ago"


def test_recommend__cycle_long_lapsed__says_they_used_to_reorder():
    model = _fitted()
    history = _baskets((400, [CUPS]), (369, [CUPS]), (338, [CUPS]))

    [need] = [n for n in model.recommend(history, today=TODAY, k=6) if n.product_id == CUPS]

    assert need.reason == "Used to reorder Paper cups every 31 days; last 338 days ago"
    history = _baskets((110, [CUPS]), (79, [CUPS]), (48, [CUPS]))
    [need] = [n for n in model.recommend(history, today=TODAY, k=6) if n.product_id == CUPS]
    assert need.reason == "Reorder of Paper cups is overdue: every 31 days, last 48 days ago"


def test_recommend__bought_once__rebuy_interval_of_repeat_buyers():
    model = NextNeedModel.fit(
        {
            1: _baskets((100, [CUPS]), (80, [CUPS])),
            2: _baskets((60, [CUPS]), (40, [CUPS])),
        },
        NAMES,
    )

    [need] = model.recommend(_baskets((12, [CUPS])), today=TODAY)

    assert need.kind == "reorder"
    assert need.reason == (
        "Bought Paper cups once, 12 days ago; repeat buyers reorder it every 20 days"
    )


def test_recommend__last_bought_a_starter_kit__refills_next_as_a_sequence():
    model = _fitted()

    needs = model.recommend(_baskets((5, [STARTER])), today=TODAY)

    assert needs[0].product_id == PRO
    assert needs[0].kind == "sequence"
    assert needs[0].reason == "Often bought after Starter kit (100% of the time)"


def test_recommend__bought_mugs__lids_that_go_with_them():
    model = _fitted()

    needs = model.recommend(_baskets((3, [MUGS])), today=TODAY)

    together = [n for n in needs if n.kind == "together"]
    assert together and together[0].product_id == LIDS
    assert together[0].reason == "Often bought with Mugs (in 100% of its orders)"


def test_recommend__no_history__most_popular_with_buyer_count():
    model = _fitted()

    needs = model.recommend([], today=TODAY)

    assert [n.kind for n in needs] == ["popular"] * 3
    assert needs[0].product_id == BEANS
    assert needs[0].reason == "Popular: bought by 9 customers"


def test_baselines__popular_not_owned_and_own_most_frequent():
    model = _fitted()
    history = _baskets((50, [BEANS, CUPS]), (20, [CUPS]))

    assert model.most_popular(history, 2) == [STARTER, PRO]
    assert most_frequent(history, 2) == [CUPS, BEANS]


def test_baskets_from_lines__returns_and_cancelled_orders__not_purchases():
    lines = [
        PurchaseLine(1, "A", TODAY - 10, CUPS, 5),
        PurchaseLine(1, "A", TODAY - 10, LIDS, 2),
        PurchaseLine(1, "CA", TODAY - 5, LIDS, -2, cancelled=True),  # a return
        PurchaseLine(1, "B", TODAY - 3, BEANS, 1, cancelled=True),  # a cancelled order
        PurchaseLine(1, "C", TODAY - 1, MUGS, -1),  # a return on its own
        PurchaseLine(2, "D", TODAY - 2, CUPS, 0),
    ]

    histories = baskets_from_lines(lines)

    assert histories == {1: [Basket(TODAY - 10, frozenset({CUPS, LIDS}))]}


def test_purchase_histories__cancelled_and_refunded_orders__left_out(workspace):
    contact = factories.ContactFactory(workspace=workspace, account=None)
    cups = factories.ProductFactory(workspace=workspace, sku="CUPS", name="Paper cups")
    beans = factories.ProductFactory(workspace=workspace, sku="BEANS", name="Coffee beans")
    now = timezone.now()
    for days, status, product in (
        (30, Order.Status.PAID, cups),
        (20, Order.Status.CANCELLED, beans),
        (10, Order.Status.REFUNDED, beans),
        (5, Order.Status.PLACED, cups),
    ):
        order = factories.OrderFactory(
            workspace=workspace,
            contact=contact,
            ordered_at=now - dt.timedelta(days=days),
            status=status,
        )
        factories.OrderLineFactory(workspace=workspace, order=order, product=product)

    histories = purchase_histories(workspace=workspace)

    assert [sorted(b.products) for b in histories[contact.pk]] == [[cups.pk], [cups.pk]]


# ---------------------------------------------------------------- evaluation


def test_next_need_metrics__seeded_retail_log__beats_both_baselines():
    # Given a small retail-shaped log: many products, one-off buyers, repeats, returns
    log = retail_log(customers=1200, products=600, seed=6)
    traits = log.summary()
    assert traits["products"] == 600
    assert traits["one_off_share"] > 0.35
    assert traits["repeat_revenue_share"] > 0.6
    assert traits["return_lines"] > 0 and traits["cancelled_lines"] > 0

    # When the held-out last orders are predicted
    metrics = next_need_metrics(baskets_from_lines(log.lines), log.names)

    # Then the model beats the most popular products and the customer's own favourites
    assert metrics["next_need_cases"] > 100
    assert metrics["next_need_hit_at_3"] > metrics["frequent_hit_at_3"]
    assert metrics["next_need_hit_at_3"] > metrics["popular_hit_at_3"]
    assert metrics["next_need_hits_by_kind"]["reorder"] > 0


def test_artifact_of_a_version_before_next_needs__still_loads():
    # A pickled NextProductModel as versions trained before the split stored it
    old = b"cai_features.capabilities.prediction.training\nNextProductModel\n)\x81}b."

    model = pickle.loads(old)

    assert type(model).__name__ == "NextProductModel"


def test_retail_log__same_seed__same_lines():
    assert retail_log(customers=50, products=80, seed=2).lines == (
        retail_log(customers=50, products=80, seed=2).lines
    )


# ---------------------------------------------------------------- storage and job


@pytest.fixture
def shop(workspace):
    """A regular buying paper cups every 31 days, a churned customer, a lead with no order."""
    now = timezone.now()
    cups = factories.ProductFactory(workspace=workspace, sku="CUPS", name="Paper cups")
    beans = factories.ProductFactory(workspace=workspace, sku="BEANS", name="Coffee beans")
    regular = factories.ContactFactory(
        workspace=workspace, account=None, lifecycle_stage=Contact.Stage.CUSTOMER
    )
    churned = factories.ContactFactory(
        workspace=workspace, account=None, lifecycle_stage=Contact.Stage.CHURNED
    )
    lead = factories.ContactFactory(
        workspace=workspace, account=None, lifecycle_stage=Contact.Stage.LEAD
    )
    for days in (122, 91, 60, 29):
        order = factories.OrderFactory(
            workspace=workspace,
            contact=regular,
            ordered_at=now - dt.timedelta(days=days),
            total=Decimal("10.00"),
        )
        factories.OrderLineFactory(workspace=workspace, order=order, product=cups)
    for contact in (regular, churned):
        order = factories.OrderFactory(
            workspace=workspace, contact=contact, ordered_at=now - dt.timedelta(days=200)
        )
        factories.OrderLineFactory(workspace=workspace, order=order, product=beans)
    return {"regular": regular, "churned": churned, "lead": lead, "cups": cups, "beans": beans}


def test_next_needs_job__flag_on__every_contact_in_chunks_with_progress(
    workspace, shop, prediction_on
):
    summary = runs.next_needs_workspace(workspace=workspace)
    again = runs.next_needs_workspace(workspace=workspace)

    assert summary["contacts"] == again["contacts"] == 3
    assert summary["with_history"] == 2
    rows = {r.contact_id: r.needs for r in ContactNextNeeds.objects.filter(workspace=workspace)}
    assert set(rows) == {shop["regular"].pk, shop["churned"].pk, shop["lead"].pk}
    assert rows[shop["regular"].pk][0] == {
        "product_id": shop["cups"].pk,
        "product": "Paper cups",
        "kind": "reorder",
        "reason": "Reorder of Paper cups is due: every 31 days, last 29 days ago",
        "score": rows[shop["regular"].pk][0]["score"],
    }
    assert rows[shop["lead"].pk][0]["kind"] == "popular"
    run = JobRun.objects.filter(name="next_needs").latest("pk")
    assert (run.status, run.done, run.total) == (JobRun.Status.SUCCEEDED, 3, 3)


def test_next_needs_refresh__small_chunks__same_rows_one_upsert_per_chunk(workspace, shop):
    chunks = []
    services.contact_next_needs_refresh(workspace=workspace, chunk_size=1, on_chunk=chunks.append)

    assert chunks == [1, 1, 1]
    assert ContactNextNeeds.objects.filter(workspace=workspace).count() == 3


def test_next_needs_job__flag_off_or_kill_switch__skipped(
    workspace, shop, enable_capability, capsys
):
    assert "skipped" in runs.next_needs_workspace(workspace=workspace)
    enable_capability("prediction")
    with override_switch("ai_kill_switch", active=True):
        call_command("next_needs", workspace=workspace.pk, no_progress=True)

    assert "skipped. AI features are switched off for everyone" in capsys.readouterr().out
    assert not ContactNextNeeds.objects.exists()


def test_next_needs_command__flag_on__prints_counts_and_reasons(
    workspace, shop, prediction_on, capsys
):
    call_command("next_needs", workspace=workspace.pk, no_progress=True)

    out = capsys.readouterr().out
    assert "next needs of 3 contacts (2 with a purchase history); reasons: " in out
    assert " reorder" in out and " popular" in out


# ---------------------------------------------------------------- facade


def test_facade_next_needs__lead_churned_and_customer__one_query(
    workspace, shop, prediction_on, django_assert_num_queries
):
    services.contact_next_needs_refresh(workspace=workspace)
    facade = facade_for("prediction", workspace=workspace)
    ids = [shop["regular"].pk, shop["churned"].pk, shop["lead"].pk]

    with django_assert_num_queries(1):
        needs = facade.next_needs(workspace_id=workspace.pk, contact_ids=ids)

    assert set(needs) == set(ids)
    assert needs[shop["regular"].pk][0] == NextNeed(
        product="Paper cups",
        reason="Reorder of Paper cups is due: every 31 days, last 29 days ago",
        kind="reorder",
    )
    assert all(isinstance(n, NextNeed) for n in needs[shop["lead"].pk])
    assert {n.kind for n in needs[shop["lead"].pk]} <= {"popular", "sequence", "together"}
    assert facade.next_needs(workspace_id=workspace.pk, contact_ids=[]) == {}


def test_facade_next_needs__other_workspace__nothing(workspace, sandbox, shop):
    services.contact_next_needs_refresh(workspace=workspace)
    facade = facade_for("prediction", workspace=sandbox)

    assert facade.next_needs(workspace_id=sandbox.pk, contact_ids=[shop["regular"].pk]) == {}


def test_facade__kill_switch__unavailable(workspace):
    with override_switch("ai_kill_switch", active=True):
        assert facade_for("prediction", workspace=workspace).available is False


# ---------------------------------------------------------------- panel


def test_contact_panel__flag_on__next_need_with_its_reason(
    workspace, shop, logged_in_client, prediction_on
):
    services.contact_next_needs_refresh(workspace=workspace)

    html = logged_in_client.get(f"/contacts/{shop['regular'].pk}/").content.decode()

    assert 'data-testid="next-need-product">Paper cups</strong>' in html
    assert "Reorder of Paper cups is due: every 31 days, last 29 days ago" in html


def test_contact_panel__flag_on__lead_without_score_still_gets_next_needs(
    workspace, shop, logged_in_client, prediction_on
):
    services.contact_next_needs_refresh(workspace=workspace)

    html = logged_in_client.get(f"/contacts/{shop['lead'].pk}/").content.decode()

    assert 'data-testid="churn-risk"' not in html  # no score: not a current customer
    assert 'data-kind="popular"' in html
    assert "Popular: bought by 2 customers" in html


def test_contact_panel__flag_off__no_next_needs(workspace, shop, logged_in_client):
    services.contact_next_needs_refresh(workspace=workspace)

    html = logged_in_client.get(f"/contacts/{shop['regular'].pk}/").content.decode()

    assert "Reorder of Paper cups" not in html
    assert "next-need" not in html


def test_contact_panel__kill_switch__no_next_needs(
    workspace, shop, logged_in_client, prediction_on
):
    services.contact_next_needs_refresh(workspace=workspace)
    with override_switch("ai_kill_switch", active=True):
        html = logged_in_client.get(f"/contacts/{shop['regular'].pk}/").content.decode()

    assert "Reorder of Paper cups" not in html
    assert "next-need" not in html


def test_contact_page__flag_on__panel_adds_constant_queries(
    workspace, shop, logged_in_client, enable_capability
):
    services.contact_next_needs_refresh(workspace=workspace)

    def queries(contact) -> int:
        logged_in_client.get(f"/contacts/{contact.pk}/")  # warm the flag caches
        with CaptureQueriesContext(connection) as captured:
            html = logged_in_client.get(f"/contacts/{contact.pk}/").content.decode()
        return len(captured), html

    off = {c: queries(shop[c])[0] for c in ("regular", "lead")}
    enable_capability("prediction")
    for name in ("regular", "lead"):
        on, html = queries(shop[name])
        assert 'data-testid="next-need"' in html
        # the score, why there is none (live and latest version), the next needs
        assert on - off[name] == PANEL_QUERIES
