"""API lists page by keyset cursor: newest first, every row once, stable under inserts."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.utils import timezone

from crmcore import factories
from crmcore.models import Contact, Deal

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("core_only")]


def _walk(api_client, url: str, params: dict) -> list[list[int]]:
    """Follow ``next`` links from the first page; the ids of each page."""
    pages = []
    response = api_client.get(url, params)
    while True:
        body = response.json()
        assert "count" not in body
        pages.append([item["id"] for item in body["results"]])
        if body["next"] is None:
            return pages
        response = api_client.get(body["next"])


def _cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def test_contacts_list__default__newest_first_by_created_at_then_id(api_client, workspace):
    made = factories.ContactFactory.create_batch(5, workspace=workspace)
    moment = timezone.now() - dt.timedelta(days=1)
    # Two contacts created at the same instant: the newer id comes first.
    Contact.objects.filter(pk__in=[made[0].pk, made[3].pk]).update(created_at=moment)

    pages = _walk(api_client, "/api/v1/contacts/", {"page_size": 2})

    expected = [made[4].pk, made[2].pk, made[1].pk, made[3].pk, made[0].pk]
    assert pages == [expected[0:2], expected[2:4], expected[4:5]]


def test_contacts_list__same_created_at_for_all__every_row_once(api_client, workspace):
    made = factories.ContactFactory.create_batch(7, workspace=workspace)
    Contact.objects.update(created_at=timezone.now())

    pages = _walk(api_client, "/api/v1/contacts/", {"page_size": 3})

    assert [pk for page in pages for pk in page] == sorted((c.pk for c in made), reverse=True)


def test_contacts_list__rows_inserted_while_paging__no_row_twice_or_missed(api_client, workspace):
    made = factories.ContactFactory.create_batch(4, workspace=workspace)
    first = api_client.get("/api/v1/contacts/", {"page_size": 2}).json()

    factories.ContactFactory.create_batch(3, workspace=workspace)
    second = api_client.get(first["next"]).json()

    assert [c["id"] for c in first["results"]] == [made[3].pk, made[2].pk]
    assert [c["id"] for c in second["results"]] == [made[1].pk, made[0].pk]
    assert second["next"] is None


def test_contacts_list__previous_link__the_page_before(api_client, workspace):
    made = factories.ContactFactory.create_batch(5, workspace=workspace)
    first = api_client.get("/api/v1/contacts/", {"page_size": 2}).json()
    second = api_client.get(first["next"]).json()

    back = api_client.get(second["previous"]).json()

    assert first["previous"] is None
    assert [c["id"] for c in back["results"]] == [made[4].pk, made[3].pk]
    assert [c["id"] for c in back["results"]] == [c["id"] for c in first["results"]]


def test_contacts_list__ordering_by_a_repeated_name__every_row_once_in_order(api_client, workspace):
    for i, name in enumerate(["Baker", "Adams", "Baker", "Baker", "Adams", "Clark"]):
        factories.ContactFactory(workspace=workspace, last_name=name, email=f"c{i}@example.com")

    pages = _walk(api_client, "/api/v1/contacts/", {"page_size": 2, "ordering": "last_name"})

    expected = list(Contact.objects.order_by("last_name", "id").values_list("pk", flat=True))
    assert [pk for page in pages for pk in page] == expected
    assert len(pages) == 3


def test_deals_list__ordering_by_a_nullable_date__nulls_last_every_row_once(api_client, workspace):
    contact = factories.ContactFactory(workspace=workspace)
    closes = [None, dt.date(2026, 3, 1), None, dt.date(2026, 1, 1), dt.date(2026, 3, 1)]
    deals = [
        factories.DealFactory(workspace=workspace, contact=contact, expected_close=close)
        for close in closes
    ]

    ascending = _walk(api_client, "/api/v1/deals/", {"page_size": 2, "ordering": "expected_close"})
    descending = _walk(
        api_client, "/api/v1/deals/", {"page_size": 2, "ordering": "-expected_close"}
    )

    d = [deal.pk for deal in deals]
    assert [pk for page in ascending for pk in page] == [d[3], d[1], d[4], d[0], d[2]]
    assert [pk for page in descending for pk in page] == [d[4], d[1], d[3], d[2], d[0]]
    assert Deal.objects.count() == 5


def test_contacts_list__page_two_by_cursor__same_two_queries(
    api_client, workspace, django_assert_num_queries
):
    factories.ContactFactory.create_batch(6, workspace=workspace)
    first = api_client.get("/api/v1/contacts/", {"page_size": 3}).json()

    with django_assert_num_queries(2):  # workspace, page
        second = api_client.get(first["next"])

    assert len(second.json()["results"]) == 3


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"not json").decode(),
        _cursor([1, 2]),
        _cursor({"o": ["-created_at", "-id"], "v": ["yesterday", 3], "r": 0}),
        _cursor({"o": ["-created_at", "-id"], "v": [None, 3], "r": 0}),
        _cursor({"o": ["-created_at", "-id"], "v": ["2026-01-01T00:00:00+00:00"], "r": 0}),
        _cursor({"o": ["-created_at", "-id"], "v": ["2026-01-01T00:00:00+00:00", "x"], "r": 0}),
        _cursor({"o": ["-created_at", "-id"], "v": ["2026-01-01T00:00:00+00:00", 3], "r": 7}),
        _cursor({"o": ["-email", "-id"], "v": ["a@example.com", 3], "r": 0}),
    ],
)
def test_contacts_list__hostile_cursor__404(api_client, workspace, cursor):
    factories.ContactFactory(workspace=workspace)

    response = api_client.get("/api/v1/contacts/", {"cursor": cursor})

    assert (response.status_code, response.json()) == (404, {"detail": "Invalid cursor."})
