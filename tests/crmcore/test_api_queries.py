"""Pinned query counts of the API's list and retrieve endpoints.

With a forced login: one query resolves the workspace, one loads the page
(plus one per prefetched relation). Lists page by cursor: nothing counts the rows.
"""

import pytest

from crmcore import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_only")]


def test_contacts_list__50_items__2_queries(
    api_client, workspace, team, user, django_assert_num_queries
):
    factories.ContactFactory.create_batch(50, workspace=workspace, team=team, owner=user)
    with django_assert_num_queries(2):
        response = api_client.get("/api/v1/contacts/")
    assert len(response.json()["results"]) == 50


def test_interactions_list__50_items__2_queries(
    api_client, workspace, user, django_assert_num_queries
):
    contact = factories.ContactFactory(workspace=workspace)
    factories.InteractionFactory.create_batch(50, workspace=workspace, contact=contact, author=user)
    with django_assert_num_queries(2):
        response = api_client.get("/api/v1/interactions/")
    assert len(response.json()["results"]) == 50


def test_deals_list__50_items__2_queries(api_client, workspace, user, django_assert_num_queries):
    contact = factories.ContactFactory(workspace=workspace)
    factories.DealFactory.create_batch(50, workspace=workspace, contact=contact, owner=user)
    with django_assert_num_queries(2):
        response = api_client.get("/api/v1/deals/")
    assert len(response.json()["results"]) == 50


def test_orders_list__20_orders_with_lines__3_queries(
    api_client, workspace, django_assert_num_queries
):
    contact = factories.ContactFactory(workspace=workspace)
    product = factories.ProductFactory(workspace=workspace)
    for order in factories.OrderFactory.create_batch(20, workspace=workspace, contact=contact):
        factories.OrderLineFactory.create_batch(
            2, workspace=workspace, order=order, product=product
        )
    with django_assert_num_queries(3):
        response = api_client.get("/api/v1/orders/")
    assert [len(o["lines"]) for o in response.json()["results"]] == [2] * 20


def test_teams_list__10_teams__3_queries(api_client, workspace, user, django_assert_num_queries):
    factories.TeamFactory.create_batch(10, workspace=workspace, members=[user])
    with django_assert_num_queries(3):
        response = api_client.get("/api/v1/teams/")
    assert len(response.json()["results"]) == 10


@pytest.mark.parametrize(
    ("prefix", "factory", "queries"),
    [
        ("accounts", factories.AccountFactory, 2),
        ("campaigns", factories.CampaignFactory, 2),
        ("products", factories.ProductFactory, 2),
    ],
)
def test_other_lists__30_items__pinned(
    api_client, workspace, prefix, factory, queries, django_assert_num_queries
):
    factory.create_batch(30, workspace=workspace)
    with django_assert_num_queries(queries):
        response = api_client.get(f"/api/v1/{prefix}/")
    assert len(response.json()["results"]) == 30


@pytest.mark.parametrize(
    ("prefix", "factory", "queries"),
    [
        ("contacts", factories.ContactFactory, 2),
        ("interactions", factories.InteractionFactory, 2),
        ("deals", factories.DealFactory, 2),
        ("orders", factories.OrderLineFactory, 3),
    ],
)
def test_retrieve__one_item__pinned(
    api_client, workspace, prefix, factory, queries, django_assert_num_queries
):
    obj = factory(workspace=workspace)
    pk = obj.order_id if prefix == "orders" else obj.pk
    with django_assert_num_queries(queries):
        response = api_client.get(f"/api/v1/{prefix}/{pk}/")
    assert response.json()["id"] == pk


def test_contacts_list__token_auth__3_queries(workspace, user, django_assert_num_queries):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    factories.ContactFactory.create_batch(10, workspace=workspace)
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    # token + user, workspace, page
    with django_assert_num_queries(3):
        response = client.get("/api/v1/contacts/")
    assert len(response.json()["results"]) == 10
