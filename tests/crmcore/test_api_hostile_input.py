"""Hostile input to the API answers 4xx with the problem named, never 500."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from crmcore import factories, services
from crmcore.models import Contact, Order

pytestmark = pytest.mark.django_db

PAST_BIGINT = str(2**63)


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def post_raw(client: APIClient, path: str, body: str):
    return client.generic("POST", path, body, content_type="application/json")


# --------------------------------------------------------------------------- integers


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/contacts/", "owner"),
        ("/api/v1/contacts/", "account"),
        ("/api/v1/contacts/", "team"),
        ("/api/v1/deals/", "contact"),
        ("/api/v1/deals/", "account"),
        ("/api/v1/deals/", "owner"),
        ("/api/v1/interactions/", "author"),
        ("/api/v1/interactions/", "contact"),
        ("/api/v1/orders/", "contact"),
    ],
)
@pytest.mark.parametrize("value", [PAST_BIGINT, "-" + PAST_BIGINT, "0"])
def test_id_filter__out_of_range__400_naming_the_filter(api_client, workspace, path, name, value):
    response = api_client.get(path, {name: value})

    assert response.status_code == 400
    assert list(response.json()) == [name]


def test_id_filter__largest_id__200_nothing_matches(api_client, workspace):
    factories.ContactFactory(workspace=workspace)

    response = api_client.get("/api/v1/contacts/", {"owner": str(2**63 - 1)})

    assert (response.status_code, response.json()["results"]) == (200, [])


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
    ],
)
def test_time_filter__offset_or_year_out_of_range__400(api_client, workspace, value):
    response = api_client.get("/api/v1/deals/", {"created_after": value})

    assert response.status_code == 400
    assert list(response.json()) == ["created_after"]


def test_time_filter__offset_past_what_postgresql_takes__200(api_client, workspace):
    response = api_client.get("/api/v1/deals/", {"created_after": "2026-03-14T11:19:36+23:49"})

    assert response.status_code == 200


def test_time_filter__offset__compared_in_utc(api_client, workspace):
    contact = factories.ContactFactory(workspace=workspace)

    before = api_client.get("/api/v1/contacts/", {"created_after": "2000-01-01T05:30:00+05:30"})
    after = api_client.get("/api/v1/contacts/", {"created_after": "2999-01-01T00:00:00+05:30"})

    assert [c["id"] for c in before.json()["results"]] == [contact.pk]
    assert after.json()["results"] == []


@pytest.mark.parametrize("pk", [PAST_BIGINT, "99999999999999999999999999"])
def test_detail__id_out_of_range__404(api_client, workspace, pk):
    assert api_client.get(f"/api/v1/contacts/{pk}/").status_code == 404


def test_contact_create__related_id_out_of_range__400_naming_the_field(api_client, workspace):
    response = api_client.post(
        "/api/v1/contacts/", {"first_name": "A", "account": 2**63, "owner": 2**64}
    )

    assert response.status_code == 400
    assert sorted(response.json()) == ["account", "owner"]


@pytest.fixture
def product(workspace):
    return factories.ProductFactory(workspace=workspace, price="10.00")


@pytest.fixture
def contact(workspace):
    return factories.ContactFactory(workspace=workspace)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("1e30", "A valid integer is required."),
        (str(10**30), "Ensure this value is less than or equal to 1000000."),
        ("1000001", "Ensure this value is less than or equal to 1000000."),
    ],
)
def test_order_create__quantity_too_large__400_nothing_stored(
    api_client, contact, product, quantity, message
):
    body = (
        f'{{"contact": {contact.pk}, "lines": '
        f'[{{"product": {product.pk}, "quantity": {quantity}}}]}}'
    )

    response = post_raw(api_client, "/api/v1/orders/", body)

    assert response.status_code == 400
    assert response.json() == {"lines": {"0": {"quantity": [message]}}}
    assert Order.objects.count() == 0


def test_order_create__total_past_what_is_stored__400_nothing_stored(api_client, contact, product):
    line = {"product": product.pk, "quantity": 1_000_000, "unit_price": "9999999999.99"}

    response = api_client.post("/api/v1/orders/", {"contact": contact.pk, "lines": [line]})

    assert response.status_code == 400
    assert list(response.json()) == ["lines"]
    assert Order.objects.count() == 0


def test_order_create__largest_quantity__201(api_client, contact, product):
    line = {"product": product.pk, "quantity": 1_000_000}

    response = api_client.post("/api/v1/orders/", {"contact": contact.pk, "lines": [line]})

    assert response.status_code == 201
    assert response.json()["total"] == "10000000.00"


# --------------------------------------------------------------------------- JSON bodies


@pytest.mark.parametrize("levels", [33, 1000, 100_000])
def test_json_body__nested_too_deep__400(api_client, workspace, levels):
    response = post_raw(api_client, "/api/v1/contacts/", f'{{"first_name": {deep(levels)}}}')

    assert response.status_code == 400
    assert response.json() == {"detail": "JSON nested deeper than 32 levels."}


def test_json_body__nested_at_the_limit__parsed(api_client, workspace):
    # 32 levels in all: the object and 31 lists.
    response = post_raw(api_client, "/api/v1/contacts/", f'{{"first_name": {deep(31)}}}')

    assert response.status_code == 400
    assert list(response.json()) == ["first_name"]


@pytest.mark.parametrize("levels", [100, 1000])
def test_token_endpoint__nested_too_deep__400_without_login(db, levels):
    response = post_raw(APIClient(), "/api/v1/auth/token/", f'{{"username": {deep(levels)}}}')

    assert response.status_code == 400
    assert response.json() == {"detail": "JSON nested deeper than 32 levels."}


def test_json_body__larger_than_the_limit__400_nothing_stored(api_client, workspace, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"first_name": "A", "last_name": "x" * 1000})

    response = post_raw(api_client, "/api/v1/contacts/", body)

    assert response.status_code == 400
    assert Contact.objects.count() == 0


@pytest.mark.parametrize("body", ["NaN", '{"first_name": Infinity}', "[1,", "\x00"])
def test_json_body__not_strict_json__400(api_client, workspace, body):
    assert post_raw(api_client, "/api/v1/contacts/", body).status_code == 400


# --------------------------------------------------------------------------- JSON fields


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (["plan", "Pro"], "Expected a JSON object."),
        ("plan=Pro", "Expected a JSON object."),
        (7, "Expected a JSON object."),
        ({f"k{i}": i for i in range(101)}, "At most 100 keys (101 given)."),
        ({"notes": "x" * 20_000}, "At most 16384 bytes as JSON."),
        ({"a\x00": 1}, "Text may not contain NUL characters."),
        ({"a": ["b\x00"]}, "Text may not contain NUL characters."),
        ({"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}, "Nested deeper than 5 levels."),
    ],
)
def test_contact_attributes__not_a_small_object__400_nothing_stored(
    api_client, workspace, attributes, message
):
    response = api_client.post("/api/v1/contacts/", {"first_name": "A", "attributes": attributes})

    assert response.status_code == 400
    assert response.json() == {"attributes": [message]}
    assert Contact.objects.count() == 0


def test_contact_attributes__update_with_a_list__400_unchanged(api_client, contact):
    response = api_client.patch(f"/api/v1/contacts/{contact.pk}/", {"attributes": [["a", "b"]]})

    assert response.status_code == 400
    contact.refresh_from_db()
    assert contact.attributes == {}


def test_contact_attributes__nested_values_at_the_limits__201(api_client, workspace):
    attributes = {f"k{i}": i for i in range(99)} | {"a": {"b": {"c": {"d": ["e"]}}}}

    response = api_client.post("/api/v1/contacts/", {"first_name": "A", "attributes": attributes})

    assert response.status_code == 201
    assert Contact.objects.get().attributes == attributes


@pytest.mark.parametrize("audience", [["customer"], "customer", {"x": "\x00"}])
def test_campaign_audience__not_an_object__400(api_client, workspace, audience):
    response = api_client.post("/api/v1/campaigns/", {"name": "C", "audience": audience})

    assert response.status_code == 400
    assert list(response.json()) == ["audience"]


# --------------------------------------------------------------------------- text


def test_contact_create__nul_in_text__400(api_client, workspace):
    response = api_client.post("/api/v1/contacts/", {"first_name": "A\x00"})

    assert response.status_code == 400
    assert response.json() == {"first_name": ["Null characters are not allowed."]}


@pytest.mark.parametrize("params", [{"search": "a\x00"}, {"email": "a\x00@example.com"}])
def test_contacts_list__nul_in_query__400_naming_the_parameter(api_client, workspace, params):
    response = api_client.get("/api/v1/contacts/", params)

    assert response.status_code == 400
    assert response.json() == {next(iter(params)): ["Null characters are not allowed."]}


# --------------------------------------------------------------------------- imports


def test_imports_api__mapping_nested_too_deep__400_nothing_stored(api_client, workspace):
    upload = SimpleUploadedFile("x.csv", b"first_name\nAda\n", content_type="text/csv")

    response = api_client.post(
        "/api/v1/imports/",
        {"kind": "contacts", "file": upload, "mapping": '{"columns": ' + deep(1000) + "}"},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json() == {"mapping": ["JSON nested deeper than 32 levels."]}


def test_import_page__pasted_mapping_nested_too_deep__400_with_the_reason(
    logged_in_client, workspace
):
    upload = SimpleUploadedFile("x.csv", b"first_name\nAda\n", content_type="text/csv")

    response = logged_in_client.post(
        "/integrations/import/",
        {"kind": "contacts", "file": upload, "mapping": '{"columns": ' + deep(1000) + "}"},
    )

    assert response.status_code == 400
    assert "JSON nested deeper than 32 levels." in response.content.decode()


# --------------------------------------------------------------------------- services


@pytest.mark.parametrize("attributes", [[["plan", "Pro"]], "ab", {f"k{i}": 1 for i in range(101)}])
def test_contact_create_service__attributes_not_a_small_object__validation_error(
    workspace, attributes
):
    with pytest.raises(ValidationError) as raised:
        services.contact_create(workspace=workspace, first_name="A", attributes=attributes)

    assert list(raised.value.message_dict) == ["attributes"]
    assert Contact.objects.count() == 0
