import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crmcore import events, factories
from crmcore.models import Contact, Deal, Interaction, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def captured():
    received: list[events.Event] = []
    events.subscribe(received.append)
    yield received
    events.unsubscribe(received.append)


# --------------------------------------------------------------------------- auth


def test_contacts_list__anonymous__401():
    response = APIClient().get("/api/v1/contacts/")
    assert response.status_code == 401


def test_auth_token__valid_credentials__token_works_for_api(user):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": "rep", "password": "pw-for-tests-only"}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert token == Token.objects.get(user=user).key

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/contacts/").status_code == 200


def test_auth_token__wrong_password__400(user):
    response = APIClient().post("/api/v1/auth/token/", {"username": "rep", "password": "nope"})
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_contacts_list__session_auth__200(logged_in_client, workspace):
    factories.ContactFactory(workspace=workspace)
    response = logged_in_client.get("/api/v1/contacts/")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


# --------------------------------------------------------------------------- workspaces


def test_contacts_list__rows_of_other_workspace__not_listed(api_client, workspace, sandbox):
    mine = factories.ContactFactory(workspace=workspace)
    factories.ContactFactory(workspace=sandbox)
    response = api_client.get("/api/v1/contacts/")
    assert [item["id"] for item in response.json()["results"]] == [mine.pk]


@pytest.mark.parametrize(
    ("prefix", "factory"),
    [
        ("accounts", factories.AccountFactory),
        ("contacts", factories.ContactFactory),
        ("interactions", factories.InteractionFactory),
        ("deals", factories.DealFactory),
        ("products", factories.ProductFactory),
        ("orders", factories.OrderFactory),
        ("campaigns", factories.CampaignFactory),
        ("teams", factories.TeamFactory),
    ],
)
def test_retrieve__object_of_other_workspace__404(api_client, sandbox, prefix, factory):
    foreign = factory(workspace=sandbox)
    assert api_client.get(f"/api/v1/{prefix}/{foreign.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("prefix", "factory"),
    [
        ("accounts", factories.AccountFactory),
        ("contacts", factories.ContactFactory),
        ("deals", factories.DealFactory),
        ("campaigns", factories.CampaignFactory),
    ],
)
def test_update_and_delete__object_of_other_workspace__404(api_client, sandbox, prefix, factory):
    foreign = factory(workspace=sandbox)
    url = f"/api/v1/{prefix}/{foreign.pk}/"
    assert api_client.patch(url, {"name": "x"}).status_code == 404
    assert api_client.delete(url).status_code == 404
    assert type(foreign).objects.filter(pk=foreign.pk).exists()


def test_contacts__sandbox_owner_in_sandbox__sees_only_sandbox(client, sandbox, workspace):
    from crmcore.workspaces import SESSION_KEY

    factories.ContactFactory(workspace=workspace)
    theirs = factories.ContactFactory(workspace=sandbox)
    client.force_login(sandbox.owner)
    session = client.session
    session[SESSION_KEY] = sandbox.pk
    session.save()

    response = client.get("/api/v1/contacts/")

    assert [item["id"] for item in response.json()["results"]] == [theirs.pk]


def test_contact_create__account_of_other_workspace__400_names_account(api_client, sandbox):
    foreign = factories.AccountFactory(workspace=sandbox)
    response = api_client.post("/api/v1/contacts/", {"first_name": "Ada", "account": foreign.pk})
    assert response.status_code == 400
    assert list(response.json()) == ["account"]
    assert Contact.objects.count() == 0


def test_interaction_create__contact_of_other_workspace__400_names_contact(api_client, sandbox):
    foreign = factories.ContactFactory(workspace=sandbox)
    response = api_client.post("/api/v1/interactions/", {"contact": foreign.pk, "channel": "call"})
    assert response.status_code == 400
    assert list(response.json()) == ["contact"]


def test_order_create__product_of_other_workspace__400_names_line_product(
    api_client, workspace, sandbox
):
    contact = factories.ContactFactory(workspace=workspace)
    foreign = factories.ProductFactory(workspace=sandbox)
    response = api_client.post(
        "/api/v1/orders/",
        {"contact": contact.pk, "lines": [{"product": foreign.pk, "quantity": 1}]},
    )
    assert response.status_code == 400
    assert response.json() == {
        "lines": {"0": {"product": [f'Invalid pk "{foreign.pk}" - object does not exist.']}}
    }


# --------------------------------------------------------------------------- validation


def test_contact_create__bad_email__400_names_email(api_client):
    response = api_client.post("/api/v1/contacts/", {"first_name": "Ada", "email": "nope"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()) == ["email"]


def test_contact_create__missing_first_name__400_names_first_name(api_client):
    response = api_client.post("/api/v1/contacts/", {"last_name": "Lovelace"})
    assert response.status_code == 400
    assert response.json() == {"first_name": ["This field is required."]}


def test_contact_create__unknown_stage__400_names_lifecycle_stage(api_client):
    response = api_client.post(
        "/api/v1/contacts/", {"first_name": "Ada", "lifecycle_stage": "prospect"}
    )
    assert response.status_code == 400
    assert list(response.json()) == ["lifecycle_stage"]


def test_deal_update__unknown_stage__400_names_stage(api_client, workspace):
    deal = factories.DealFactory(workspace=workspace, stage="proposal")
    response = api_client.patch(f"/api/v1/deals/{deal.pk}/", {"stage": "maybe"})
    assert response.status_code == 400
    assert list(response.json()) == ["stage"]


def test_contact_create__unknown_account_id__400_names_account(api_client):
    response = api_client.post("/api/v1/contacts/", {"first_name": "Ada", "account": 999999})
    assert response.status_code == 400
    assert response.json() == {"account": ['Invalid pk "999999" - object does not exist.']}


def test_product_create__duplicate_sku__400_names_sku(api_client, workspace):
    factories.ProductFactory(workspace=workspace, sku="A-1")
    response = api_client.post("/api/v1/products/", {"sku": "A-1", "name": "Again"})
    assert response.status_code == 400
    assert list(response.json()) == ["sku"]


def test_product_delete__on_an_order__400(api_client, workspace):
    line = factories.OrderLineFactory(workspace=workspace)
    response = api_client.delete(f"/api/v1/products/{line.product_id}/")
    assert response.status_code == 400
    assert list(response.json()) == ["product"]


# --------------------------------------------------------------------------- writes


def test_contact_create__valid__201_and_event(
    api_client, workspace, team, user, captured, django_capture_on_commit_callbacks
):
    account = factories.AccountFactory(workspace=workspace)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/contacts/",
            {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada@example.com",
                "account": account.pk,
                "team": team.pk,
                "owner": user.pk,
                "lifecycle_stage": "customer",
                "attributes": {"tier": "gold"},
            },
        )
    assert response.status_code == 201
    body = response.json()
    contact = Contact.objects.get(pk=body["id"])
    assert contact.workspace_id == workspace.pk
    assert (contact.account_id, contact.team_id, contact.owner_id) == (
        account.pk,
        team.pk,
        user.pk,
    )
    assert body["full_name"] == "Ada Lovelace"
    assert body["attributes"] == {"tier": "gold"}
    assert [e.name for e in captured] == ["contact.created"]


def test_contact_update__patch__event_with_changed(
    api_client, workspace, captured, django_capture_on_commit_callbacks
):
    contact = factories.ContactFactory(workspace=workspace, lifecycle_stage="lead")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.patch(
            f"/api/v1/contacts/{contact.pk}/", {"lifecycle_stage": "customer"}
        )
    assert response.status_code == 200
    assert response.json()["lifecycle_stage"] == "customer"
    [event] = captured
    assert (event.name, event.payload["changed"]) == ("contact.updated", ["lifecycle_stage"])


def test_contact_delete__own__204(api_client, workspace):
    contact = factories.ContactFactory(workspace=workspace)
    assert api_client.delete(f"/api/v1/contacts/{contact.pk}/").status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_interaction_create__author_is_caller_and_event(
    api_client, workspace, user, captured, django_capture_on_commit_callbacks
):
    contact = factories.ContactFactory(workspace=workspace)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/interactions/",
            {"contact": contact.pk, "channel": "email", "subject": "Hi", "body": "Thanks!"},
        )
    assert response.status_code == 201
    interaction = Interaction.objects.get(pk=response.json()["id"])
    assert interaction.author_id == user.pk
    assert response.json()["author"] == user.pk
    assert [e.name for e in captured] == ["interaction.created"]


def test_deal_update__stage_won__closed_at_and_event(
    api_client, workspace, captured, django_capture_on_commit_callbacks
):
    deal = factories.DealFactory(workspace=workspace, stage="negotiation")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.patch(f"/api/v1/deals/{deal.pk}/", {"stage": "won"})
    assert response.status_code == 200
    body = response.json()
    assert body["stage"] == "won"
    assert body["is_open"] is False
    assert body["closed_at"] is not None
    [event] = captured
    assert (event.payload["from_stage"], event.payload["to_stage"]) == ("negotiation", "won")


def test_deal_create__valid__201(api_client, workspace):
    contact = factories.ContactFactory(workspace=workspace)
    response = api_client.post(
        "/api/v1/deals/",
        {"name": "Expansion", "contact": contact.pk, "amount": "2500.00", "stage": "lead"},
    )
    assert response.status_code == 201
    deal = Deal.objects.get(pk=response.json()["id"])
    assert (deal.contact_id, deal.amount, deal.workspace_id) == (
        contact.pk,
        Decimal("2500.00"),
        workspace.pk,
    )


def test_order_create__nested_lines__total_and_lines_returned(api_client, workspace):
    contact = factories.ContactFactory(workspace=workspace)
    a = factories.ProductFactory(workspace=workspace, price=Decimal("10.00"))
    b = factories.ProductFactory(workspace=workspace, price=Decimal("3.50"))

    response = api_client.post(
        "/api/v1/orders/",
        {
            "contact": contact.pk,
            "status": "placed",
            "lines": [
                {"product": a.pk, "quantity": 2},
                {"product": b.pk, "quantity": 1, "unit_price": "3.00"},
            ],
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["total"] == "23.00"
    assert [(line["product"], line["quantity"], line["unit_price"]) for line in body["lines"]] == [
        (a.pk, 2, "10.00"),
        (b.pk, 1, "3.00"),
    ]
    assert Order.objects.get(pk=body["id"]).total == Decimal("23.00")


def test_order_create__no_lines__400_names_lines(api_client, workspace):
    contact = factories.ContactFactory(workspace=workspace)
    response = api_client.post("/api/v1/orders/", {"contact": contact.pk, "lines": []})
    assert response.status_code == 400
    assert list(response.json()) == ["lines"]


def test_order_update__patch_status_only__lines_kept(api_client, workspace):
    line = factories.OrderLineFactory(workspace=workspace)
    response = api_client.patch(f"/api/v1/orders/{line.order_id}/", {"status": "refunded"})
    assert response.status_code == 200
    assert response.json()["status"] == "refunded"
    assert [item["id"] for item in response.json()["lines"]] == [line.pk]


def test_campaign_create__created_by_caller(api_client, user):
    response = api_client.post("/api/v1/campaigns/", {"name": "Spring", "goal": "thank"})
    assert response.status_code == 201
    assert response.json()["created_by"] == user.pk
    assert response.json()["status"] == "draft"


def test_account_create_and_update__200(api_client, workspace):
    created = api_client.post("/api/v1/accounts/", {"name": "Acme", "region": "EMEA"})
    assert created.status_code == 201
    updated = api_client.put(
        f"/api/v1/accounts/{created.json()['id']}/", {"name": "Acme Ltd", "region": "APAC"}
    )
    assert updated.status_code == 200
    assert (updated.json()["name"], updated.json()["region"]) == ("Acme Ltd", "APAC")


def test_teams__write__405(api_client, team):
    assert api_client.post("/api/v1/teams/", {"name": "New"}).status_code == 405
    assert api_client.patch(f"/api/v1/teams/{team.pk}/", {"name": "x"}).status_code == 405


def test_teams_list__members_listed(api_client, team, user):
    response = api_client.get("/api/v1/teams/")
    assert response.json()["results"] == [
        {"id": team.pk, "name": "EMEA Sales", "members": [user.pk]}
    ]


# --------------------------------------------------------------------------- filters, order


def test_contacts_filter__stage_team_email__matching_only(api_client, workspace, team):
    match = factories.ContactFactory(
        workspace=workspace, lifecycle_stage="lead", team=team, email="Ada@Example.com"
    )
    factories.ContactFactory(workspace=workspace, lifecycle_stage="lead", team=None)
    factories.ContactFactory(workspace=workspace, lifecycle_stage="customer", team=team)

    response = api_client.get(
        "/api/v1/contacts/",
        {"lifecycle_stage": "lead", "team": team.pk, "email": "ada@example.com"},
    )

    assert [item["id"] for item in response.json()["results"]] == [match.pk]


def test_contacts_filter__unknown_stage__400_names_filter(api_client):
    response = api_client.get("/api/v1/contacts/", {"lifecycle_stage": "prospect"})
    assert response.status_code == 400
    assert list(response.json()) == ["lifecycle_stage"]


def test_contacts_filter__created_after__only_newer(api_client, workspace):
    old = factories.ContactFactory(workspace=workspace)
    Contact.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=3))
    new = factories.ContactFactory(workspace=workspace)
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()

    response = api_client.get("/api/v1/contacts/", {"created_after": since})

    assert [item["id"] for item in response.json()["results"]] == [new.pk]


def test_contacts_search__by_account_name(api_client, workspace):
    acme = factories.AccountFactory(workspace=workspace, name="Acme Rockets")
    match = factories.ContactFactory(workspace=workspace, account=acme)
    factories.ContactFactory(workspace=workspace)
    response = api_client.get("/api/v1/contacts/", {"search": "rockets"})
    assert [item["id"] for item in response.json()["results"]] == [match.pk]


@pytest.mark.parametrize(
    ("prefix", "factory", "ordering"),
    [
        ("accounts", factories.AccountFactory, "-created_at"),
        ("contacts", factories.ContactFactory, "-created_at"),
        ("interactions", factories.InteractionFactory, "-created_at"),
        ("deals", factories.DealFactory, "-created_at"),
        ("orders", factories.OrderFactory, "-created_at"),
        ("campaigns", factories.CampaignFactory, "-created_at"),
        ("accounts", factories.AccountFactory, "-id"),
        ("contacts", factories.ContactFactory, "-id"),
        ("interactions", factories.InteractionFactory, "-id"),
        ("deals", factories.DealFactory, "-id"),
        ("products", factories.ProductFactory, "-id"),
        ("orders", factories.OrderFactory, "-id"),
        ("campaigns", factories.CampaignFactory, "-id"),
        ("teams", factories.TeamFactory, "-id"),
    ],
)
def test_list__newest_first_ordering__newest_item_first(
    api_client, workspace, prefix, factory, ordering
):
    rows = [factory(workspace=workspace) for _ in range(3)]
    if ordering == "-created_at":
        # Make creation times differ and disagree with any name-based default order.
        base = timezone.now() - dt.timedelta(days=10)
        for offset, row in enumerate(rows):
            type(row).objects.filter(pk=row.pk).update(created_at=base + dt.timedelta(hours=offset))

    response = api_client.get(f"/api/v1/{prefix}/", {"ordering": ordering})

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [r.pk for r in reversed(rows)]


def test_deals_filter__is_open_false__closed_only(api_client, workspace):
    factories.DealFactory(workspace=workspace, stage="proposal")
    won = factories.DealFactory(workspace=workspace, stage="won")
    response = api_client.get("/api/v1/deals/", {"is_open": "false"})
    assert [item["id"] for item in response.json()["results"]] == [won.pk]


def test_interactions_filter__contact_and_channel(api_client, workspace):
    contact = factories.ContactFactory(workspace=workspace)
    match = factories.InteractionFactory(workspace=workspace, contact=contact, channel="call")
    factories.InteractionFactory(workspace=workspace, contact=contact, channel="email")
    factories.InteractionFactory(workspace=workspace, channel="call")
    response = api_client.get("/api/v1/interactions/", {"contact": contact.pk, "channel": "call"})
    assert [item["id"] for item in response.json()["results"]] == [match.pk]


def test_contacts_list__page_number__paginated_with_count(api_client, workspace):
    made = factories.ContactFactory.create_batch(3, workspace=workspace)
    response = api_client.get("/api/v1/contacts/", {"page_size": 2, "ordering": "id", "page": 2})
    body = response.json()
    assert (body["count"], [c["id"] for c in body["results"]]) == (3, [made[2].pk])
    assert body["next"] is None
    assert body["previous"] is not None
