from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crmcore import events, factories
from crmcore.models import Contact, Deal, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(workspace, user):
    """One row of every CRM model, linked together."""
    team = factories.TeamFactory(workspace=workspace, name="Nordic Sales", members=[user])
    contact = factories.ContactFactory(
        workspace=workspace, first_name="Greta", last_name="Lindqvist", team=team, owner=user
    )
    line = factories.OrderLineFactory(
        workspace=workspace, order=factories.OrderFactory(workspace=workspace, contact=contact)
    )
    return {
        "workspace": workspace,
        "team": team,
        "account": contact.account,
        "contact": contact,
        "product": line.product,
        "order": line.order,
        "interaction": factories.InteractionFactory(
            workspace=workspace, contact=contact, subject="Quarterly review"
        ),
        "deal": factories.DealFactory(workspace=workspace, contact=contact, name="Fjord deal"),
        "campaign": factories.CampaignFactory(workspace=workspace, name="Midsummer"),
    }


MODELS = [
    "workspace",
    "team",
    "account",
    "contact",
    "product",
    "order",
    "interaction",
    "deal",
    "campaign",
]


@pytest.fixture
def captured():
    received: list[events.Event] = []
    events.subscribe(received.append)
    yield received
    events.unsubscribe(received.append)


@pytest.mark.parametrize("model", MODELS)
def test_admin_changelist__superuser_with_data__200(staff_client, data, model):
    response = staff_client.get(reverse(f"admin:crmcore_{model}_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("model", MODELS)
def test_admin_change_page__superuser__200(staff_client, data, model):
    obj = data[model]
    response = staff_client.get(reverse(f"admin:crmcore_{model}_change", args=[obj.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_admin_add_page__superuser__200(staff_client, data, model):
    assert staff_client.get(reverse(f"admin:crmcore_{model}_add")).status_code == 200


@pytest.mark.parametrize(
    ("model", "query", "expected"),
    [
        ("team", "nordic", "team"),
        ("contact", "lindqvist", "contact"),
        ("interaction", "quarterly", "interaction"),
        ("deal", "fjord", "deal"),
        ("campaign", "midsummer", "campaign"),
        ("order", "greta", "order"),
    ],
)
def test_admin_search__matching_term__finds_only_that_row(
    staff_client, data, model, query, expected
):
    # A second row that must not match.
    factories_by_model = {
        "team": factories.TeamFactory,
        "contact": factories.ContactFactory,
        "interaction": factories.InteractionFactory,
        "deal": factories.DealFactory,
        "campaign": factories.CampaignFactory,
        "order": factories.OrderFactory,
    }
    factories_by_model[model](workspace=data["workspace"])

    response = staff_client.get(reverse(f"admin:crmcore_{model}_changelist"), {"q": query})

    assert [obj.pk for obj in response.context["cl"].result_list] == [data[expected].pk]


def test_admin_search__account_and_product__found(staff_client, data):
    account = data["account"]
    product = data["product"]
    accounts = staff_client.get(
        reverse("admin:crmcore_account_changelist"), {"q": account.name}
    ).context["cl"]
    products = staff_client.get(
        reverse("admin:crmcore_product_changelist"), {"q": product.sku}
    ).context["cl"]
    assert account.pk in [a.pk for a in accounts.result_list]
    assert [p.pk for p in products.result_list] == [product.pk]


@pytest.mark.parametrize("model", ["contact", "interaction", "deal", "order", "team"])
def test_admin_changelist__more_rows__same_query_count(staff_client, workspace, model):
    """list_select_related keeps the changelist's queries independent of its rows."""
    factory = {
        "contact": factories.ContactFactory,
        "interaction": factories.InteractionFactory,
        "deal": factories.DealFactory,
        "order": factories.OrderFactory,
        "team": factories.TeamFactory,
    }[model]
    url = reverse(f"admin:crmcore_{model}_changelist")
    factory.create_batch(2, workspace=workspace)
    staff_client.get(url)  # warm caches (content types, flags)
    with CaptureQueriesContext(connection) as few:
        staff_client.get(url)
    factory.create_batch(20, workspace=workspace)
    with CaptureQueriesContext(connection) as many:
        response = staff_client.get(url)
    assert response.context["cl"].result_count == 22
    assert len(many) == len(few)


def test_admin_contact_change__stage_changed__saved_through_service_with_event(
    staff_client, data, captured, django_capture_on_commit_callbacks
):
    contact = data["contact"]
    url = reverse("admin:crmcore_contact_change", args=[contact.pk])
    form = {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "account": contact.account_id,
        "owner": contact.owner_id,
        "team": contact.team_id,
        "lifecycle_stage": "churned",
        "region": contact.region,
        "segment": contact.segment,
        "external_id": "",
        "attributes": "{}",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, form)

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "churned"
    [event] = captured
    assert event.name == "contact.updated"
    assert event.payload["changed"] == ["lifecycle_stage"]


def test_admin_contact_add__account_of_other_workspace__form_error(
    staff_client, workspace, sandbox
):
    foreign = factories.AccountFactory(workspace=sandbox)
    response = staff_client.post(
        reverse("admin:crmcore_contact_add"),
        {
            "workspace": workspace.pk,
            "first_name": "Ada",
            "account": foreign.pk,
            "lifecycle_stage": "lead",
            "attributes": "{}",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "account": ["This belongs to another workspace."]
    }
    assert Contact.objects.count() == 0


def test_admin_contact_add__valid__created_with_event(
    staff_client, workspace, captured, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:crmcore_contact_add"),
            {
                "workspace": workspace.pk,
                "first_name": "Ada",
                "last_name": "Lovelace",
                "lifecycle_stage": "lead",
                "attributes": "{}",
            },
        )
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.full_name, contact.workspace_id) == ("Ada Lovelace", workspace.pk)
    assert [e.name for e in captured] == ["contact.created"]


def test_admin_deal_change__to_won__closed_at_set_and_event(
    staff_client, data, captured, django_capture_on_commit_callbacks
):
    deal = data["deal"]
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:crmcore_deal_change", args=[deal.pk]),
            {
                "name": deal.name,
                "account": deal.account_id or "",
                "contact": deal.contact_id,
                "stage": "won",
                "amount": str(deal.amount),
                "expected_close": "",
                "discount_percent": "0",
                "owner": "",
            },
        )
    assert response.status_code == 302
    deal = Deal.objects.get(pk=deal.pk)
    assert deal.stage == "won"
    assert deal.closed_at is not None
    assert [e.name for e in captured] == ["deal.stage_changed"]


def test_admin_order_add__with_lines__total_computed(staff_client, workspace):
    contact = factories.ContactFactory(workspace=workspace)
    product = factories.ProductFactory(workspace=workspace)
    response = staff_client.post(
        reverse("admin:crmcore_order_add"),
        {
            "workspace": workspace.pk,
            "contact": contact.pk,
            "ordered_at_0": "2026-01-15",
            "ordered_at_1": "10:00:00",
            "status": "paid",
            "external_id": "",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-0-product": product.pk,
            "lines-0-quantity": "2",
            "lines-0-unit_price": "10.00",
            "lines-1-product": product.pk,
            "lines-1-quantity": "1",
            "lines-1-unit_price": "5.50",
        },
    )
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.total == Decimal("25.50")
    assert set(order.lines.values_list("workspace_id", flat=True)) == {workspace.pk}


def test_admin_order_add__product_of_other_workspace__line_error(staff_client, workspace, sandbox):
    contact = factories.ContactFactory(workspace=workspace)
    foreign = factories.ProductFactory(workspace=sandbox)
    response = staff_client.post(
        reverse("admin:crmcore_order_add"),
        {
            "workspace": workspace.pk,
            "contact": contact.pk,
            "ordered_at_0": "2026-01-15",
            "ordered_at_1": "10:00:00",
            "status": "paid",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-product": foreign.pk,
            "lines-0-quantity": "1",
            "lines-0-unit_price": "1.00",
        },
    )
    assert response.status_code == 200
    assert Order.objects.count() == 0
