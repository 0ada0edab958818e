import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crmcore import events, factories, services
from crmcore.models import Contact, Deal, Interaction, Order, OrderLine, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def captured():
    """Collect emitted events."""
    received: list[events.Event] = []
    events.subscribe(received.append)
    yield received
    events.unsubscribe(received.append)


def test_contact_create__valid__saved_and_event_after_commit(
    workspace, team, captured, django_capture_on_commit_callbacks
):
    account = factories.AccountFactory(workspace=workspace)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        contact = services.contact_create(
            workspace=workspace,
            first_name="Ada",
            last_name="Lovelace",
            email="ada@example.com",
            account=account,
            team=team,
            attributes={"tier": "gold"},
        )
        assert captured == []  # nothing before commit

    assert len(callbacks) == 1
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "lead"
    [event] = captured
    assert event.name == "contact.created"
    assert event.workspace_id == workspace.pk
    assert event.is_sandbox is False
    assert event.payload["id"] == contact.pk
    assert event.payload["email"] == "ada@example.com"
    assert event.payload["account_id"] == account.pk
    assert event.payload["team_id"] == team.pk
    assert event.payload["attributes"] == {"tier": "gold"}
    assert event.payload["created_at"] == contact.created_at.isoformat()
    assert json.loads(json.dumps(event.payload)) == event.payload


def test_contact_create__bad_email__validation_error_names_field(workspace):
    with pytest.raises(ValidationError) as excinfo:
        services.contact_create(workspace=workspace, first_name="Ada", email="not-an-email")
    assert set(excinfo.value.message_dict) == {"email"}
    assert Contact.objects.count() == 0


def test_contact_create__account_of_other_workspace__validation_error(workspace, sandbox):
    foreign = factories.AccountFactory(workspace=sandbox)
    with pytest.raises(ValidationError) as excinfo:
        services.contact_create(workspace=workspace, first_name="Ada", account=foreign)
    assert set(excinfo.value.message_dict) == {"account"}


def test_contact_update__changed_fields__event_lists_them(
    workspace, captured, django_capture_on_commit_callbacks
):
    contact = factories.ContactFactory(workspace=workspace, lifecycle_stage="lead")
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_update(
            contact=contact, data={"lifecycle_stage": "customer", "region": contact.region}
        )
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "customer"
    [event] = captured
    assert event.name == "contact.updated"
    assert event.payload["changed"] == ["lifecycle_stage"]
    assert event.payload["lifecycle_stage"] == "customer"


def test_contact_update__nothing_changed__no_event(
    workspace, captured, django_capture_on_commit_callbacks
):
    contact = factories.ContactFactory(workspace=workspace)
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_update(contact=contact, data={"first_name": contact.first_name})
    assert captured == []


def test_contact_update__unknown_field__validation_error(workspace):
    contact = factories.ContactFactory(workspace=workspace)
    with pytest.raises(ValidationError) as excinfo:
        services.contact_update(contact=contact, data={"workspace": workspace})
    assert set(excinfo.value.message_dict) == {"workspace"}


def test_contact_create__rolled_back__no_event(
    workspace, captured, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.contact_create(workspace=workspace, first_name="Gone")
        raise RuntimeError("abort")
    assert captured == []
    assert Contact.objects.count() == 0


def test_interaction_create__defaults__event_payload(
    workspace, user, captured, django_capture_on_commit_callbacks
):
    contact = factories.ContactFactory(workspace=workspace)
    occurred = timezone.now() - dt.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        interaction = services.interaction_create(
            workspace=workspace,
            contact=contact,
            channel="call",
            subject="Renewal",
            body="They are happy.",
            occurred_at=occurred,
            author=user,
        )
    [event] = captured
    assert event.name == "interaction.created"
    assert event.payload == {
        "id": interaction.pk,
        "workspace_id": workspace.pk,
        "contact_id": contact.pk,
        "channel": "call",
        "direction": "in",
        "subject": "Renewal",
        "body": "They are happy.",
        "occurred_at": occurred.isoformat(),
        "author_id": user.pk,
        "created_at": interaction.created_at.isoformat(),
    }


def test_interaction_create__unknown_channel__validation_error(workspace):
    contact = factories.ContactFactory(workspace=workspace)
    with pytest.raises(ValidationError) as excinfo:
        services.interaction_create(workspace=workspace, contact=contact, channel="pigeon")
    assert set(excinfo.value.message_dict) == {"channel"}
    assert Interaction.objects.count() == 0


def test_interaction_create__contact_of_other_workspace__validation_error(workspace, sandbox):
    foreign = factories.ContactFactory(workspace=sandbox)
    with pytest.raises(ValidationError) as excinfo:
        services.interaction_create(workspace=workspace, contact=foreign, channel="call")
    assert set(excinfo.value.message_dict) == {"contact"}


def test_deal_stage_change__to_won__closed_at_set_and_event(
    workspace, captured, django_capture_on_commit_callbacks
):
    deal = factories.DealFactory(workspace=workspace, stage="proposal", amount=Decimal("1200.50"))
    with django_capture_on_commit_callbacks(execute=True):
        services.deal_stage_change(deal=deal, stage="won")
    deal.refresh_from_db()
    assert deal.stage == "won"
    assert deal.closed_at is not None
    [event] = captured
    assert event.name == "deal.stage_changed"
    assert event.payload["from_stage"] == "proposal"
    assert event.payload["to_stage"] == "won"
    assert event.payload["amount"] == "1200.50"
    assert event.payload["closed_at"] == deal.closed_at.isoformat()


def test_deal_stage_change__reopened__closed_at_cleared(workspace):
    deal = factories.DealFactory(workspace=workspace, stage="lost", closed_at=timezone.now())
    services.deal_stage_change(deal=deal, stage="negotiation")
    deal.refresh_from_db()
    assert deal.closed_at is None


def test_deal_stage_change__same_stage__no_event(
    workspace, captured, django_capture_on_commit_callbacks
):
    deal = factories.DealFactory(workspace=workspace, stage="proposal")
    with django_capture_on_commit_callbacks(execute=True):
        services.deal_stage_change(deal=deal, stage="proposal")
    assert captured == []


def test_deal_stage_change__unknown_stage__validation_error(workspace):
    deal = factories.DealFactory(workspace=workspace, stage="proposal")
    with pytest.raises(ValidationError) as excinfo:
        services.deal_stage_change(deal=deal, stage="maybe")
    assert set(excinfo.value.message_dict) == {"stage"}


def test_deal_update__stage_and_name__both_saved_and_one_event(
    workspace, captured, django_capture_on_commit_callbacks
):
    deal = factories.DealFactory(workspace=workspace, stage="qualified")
    with django_capture_on_commit_callbacks(execute=True):
        services.deal_update(deal=deal, data={"name": "Bigger", "stage": "lost"})
    deal.refresh_from_db()
    assert (deal.name, deal.stage) == ("Bigger", "lost")
    assert deal.closed_at is not None
    assert [e.name for e in captured] == ["deal.stage_changed"]


def test_deal_create__already_won__closed_at_set(workspace):
    deal = services.deal_create(workspace=workspace, name="Done", stage="won", amount="10")
    assert deal.closed_at is not None
    assert Deal.objects.get(pk=deal.pk).amount == Decimal("10.00")


def test_order_create__lines__total_computed(workspace):
    contact = factories.ContactFactory(workspace=workspace)
    widget = factories.ProductFactory(workspace=workspace, price=Decimal("10.00"))
    gadget = factories.ProductFactory(workspace=workspace, price=Decimal("99.00"))

    order = services.order_create(
        workspace=workspace,
        contact=contact,
        lines=[
            services.OrderLineInput(product=widget, quantity=3),
            services.OrderLineInput(product=gadget, quantity=1, unit_price=Decimal("80.00")),
        ],
    )

    order.refresh_from_db()
    assert order.total == Decimal("110.00")
    assert list(order.lines.values_list("product_id", "quantity", "unit_price")) == [
        (widget.pk, 3, Decimal("10.00")),
        (gadget.pk, 1, Decimal("80.00")),
    ]
    assert set(order.lines.values_list("workspace_id", flat=True)) == {workspace.pk}


def test_order_create__product_of_other_workspace__validation_error(workspace, sandbox):
    contact = factories.ContactFactory(workspace=workspace)
    foreign = factories.ProductFactory(workspace=sandbox)
    with pytest.raises(ValidationError) as excinfo:
        services.order_create(
            workspace=workspace,
            contact=contact,
            lines=[services.OrderLineInput(product=foreign)],
        )
    assert set(excinfo.value.message_dict) == {"lines[0].product"}
    assert Order.objects.count() == 0


def test_order_create__no_lines__validation_error(workspace):
    contact = factories.ContactFactory(workspace=workspace)
    with pytest.raises(ValidationError) as excinfo:
        services.order_create(workspace=workspace, contact=contact, lines=[])
    assert set(excinfo.value.message_dict) == {"lines"}


def test_order_update__new_lines__replace_old_and_recompute_total(workspace):
    product = factories.ProductFactory(workspace=workspace, price=Decimal("5.00"))
    order = services.order_create(
        workspace=workspace,
        contact=factories.ContactFactory(workspace=workspace),
        lines=[services.OrderLineInput(product=product, quantity=1)],
    )
    services.order_update(
        order=order,
        data={"status": "refunded"},
        lines=[services.OrderLineInput(product=product, quantity=4)],
    )
    order.refresh_from_db()
    assert order.status == "refunded"
    assert order.total == Decimal("20.00")
    assert OrderLine.objects.filter(order=order).count() == 1


def test_product_create__duplicate_sku_in_workspace__validation_error(workspace, sandbox):
    factories.ProductFactory(workspace=workspace, sku="A-1")
    services.product_create(workspace=sandbox, sku="A-1", name="Same SKU elsewhere")
    with pytest.raises(ValidationError) as excinfo:
        services.product_create(workspace=workspace, sku="A-1", name="Clash")
    assert set(excinfo.value.message_dict) == {"sku"}


def test_product_delete__on_an_order__refused(workspace):
    line = factories.OrderLineFactory(workspace=workspace)
    with pytest.raises(ValidationError):
        services.product_delete(product=line.product)
    assert Product.objects.filter(pk=line.product_id).exists()


def test_campaign_create_and_update__fields_saved(workspace, user):
    campaign = services.campaign_create(
        workspace=workspace, name="Spring", goal="win_back", created_by=user
    )
    services.campaign_update(campaign=campaign, data={"status": "approved"})
    campaign.refresh_from_db()
    assert (campaign.goal, campaign.status, campaign.created_by_id) == (
        "win_back",
        "approved",
        user.pk,
    )


def test_account_update_and_delete__contacts_kept(workspace):
    contact = factories.ContactFactory(workspace=workspace)
    account = contact.account
    services.account_update(account=account, data={"name": "Renamed"})
    assert contact.account.__class__.objects.get(pk=account.pk).name == "Renamed"
    services.account_delete(account=account)
    contact.refresh_from_db()
    assert contact.account_id is None


def test_sandbox_event__is_flagged_sandbox(sandbox, captured, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_create(workspace=sandbox, first_name="Trainee")
    [event] = captured
    assert event.is_sandbox is True
    assert event.workspace_id == sandbox.pk
