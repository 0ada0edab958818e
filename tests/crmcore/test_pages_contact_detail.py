"""The contact detail page: profile, paginated timeline, extension panels."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from crmcore import extensions, factories
from crmcore.extensions import ContactPanel

# session, user, workspace
REQUEST_QUERIES = 3


@pytest.fixture
def contact(workspace):
    return factories.ContactFactory(
        workspace=workspace,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        attributes={"favourite_colour": "teal", "plan": "Pro"},
    )


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _url(contact, **params) -> str:
    url = reverse("contact-detail", args=[contact.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def _history(workspace, contact, *, interactions: int, start: dt.datetime) -> None:
    """``interactions`` interactions one hour apart before ``start``, plus an order and a deal."""
    factories.InteractionFactory.create_batch(
        interactions,
        workspace=workspace,
        contact=contact,
        occurred_at=factories.factory.Iterator(
            [start - dt.timedelta(hours=n) for n in range(interactions)]
        ),
    )
    order = factories.OrderFactory(
        workspace=workspace, contact=contact, ordered_at=start + dt.timedelta(minutes=30)
    )
    factories.OrderLineFactory.create_batch(3, workspace=workspace, order=order)
    deal = factories.DealFactory(workspace=workspace, contact=contact)
    type(deal).objects.filter(pk=deal.pk).update(created_at=start + dt.timedelta(minutes=20))


def test_contact_detail__profile__shows_fields_and_attributes(logged_in_client, contact):
    response = logged_in_client.get(_url(contact))
    assert response.status_code == 200
    html = _text(response)
    assert "<h1>Ada Lovelace</h1>" in html
    assert '<a href="mailto:ada@example.com">ada@example.com</a>' in html
    assert "<dt>favourite_colour</dt><dd>teal</dd>" in html
    assert "<dt>plan</dt><dd>Pro</dd>" in html
    assert f'href="{reverse("account-detail", args=[contact.account_id])}"' in html


def test_contact_detail__other_workspace__404(logged_in_client, sandbox):
    theirs = factories.ContactFactory(workspace=sandbox)
    assert logged_in_client.get(_url(theirs)).status_code == 404


def test_contact_detail__unknown_contact__404(logged_in_client, db):
    assert logged_in_client.get(reverse("contact-detail", args=[999999])).status_code == 404


def test_contact_detail__timeline__mixes_kinds_newest_first(logged_in_client, workspace, contact):
    now = timezone.now()
    factories.InteractionFactory(
        workspace=workspace, contact=contact, subject="Old call", occurred_at=now - dt.timedelta(3)
    )
    order = factories.OrderFactory(
        workspace=workspace, contact=contact, ordered_at=now - dt.timedelta(2), total=198
    )
    widget = factories.ProductFactory(workspace=workspace, name="Widget", sku="W-1")
    factories.OrderLineFactory(
        workspace=workspace, order=order, product=widget, quantity=2, unit_price=99
    )
    factories.InteractionFactory(
        workspace=workspace, contact=contact, subject="New email", occurred_at=now
    )
    deal = factories.DealFactory(
        workspace=workspace, contact=contact, name="Upsell", amount=Decimal("3000")
    )
    type(deal).objects.filter(pk=deal.pk).update(created_at=now - dt.timedelta(1))
    factories.InteractionFactory(workspace=workspace, subject="Someone else's")

    response = logged_in_client.get(_url(contact))

    timeline = response.context["timeline"]
    assert [(e.kind, e.item.pk) for e in timeline.entries] == [
        ("interaction", timeline.entries[0].item.pk),
        ("deal", deal.pk),
        ("order", order.pk),
        ("interaction", timeline.entries[3].item.pk),
    ]
    assert [timeline.entries[0].item.subject, timeline.entries[3].item.subject] == [
        "New email",
        "Old call",
    ]
    html = _text(response)
    assert "2 \N{MULTIPLICATION SIGN} Widget" in html
    assert "<strong>Upsell</strong>" in html
    assert "Someone else&#x27;s" not in html
    assert "4 events" in html


def test_contact_detail__timeline__paginates_by_25(logged_in_client, workspace, contact):
    _history(workspace, contact, interactions=60, start=timezone.now())

    first = logged_in_client.get(_url(contact)).context["timeline"]
    third = logged_in_client.get(_url(contact, page=3)).context["timeline"]
    beyond = logged_in_client.get(_url(contact, page=99)).context["timeline"]
    garbage = logged_in_client.get(_url(contact, page="x")).context["timeline"]

    assert (first.total, first.num_pages, len(first.entries)) == (62, 3, 25)
    assert [e.kind for e in first.entries[:3]] == ["order", "deal", "interaction"]
    assert (third.number, len(third.entries)) == (3, 12)
    assert beyond.number == 3
    assert garbage.number == 1
    seen = [
        (e.kind, e.item.pk)
        for page in (1, 2, 3)
        for e in logged_in_client.get(_url(contact, page=page)).context["timeline"].entries
    ]
    assert len(seen) == len(set(seen)) == 62


@pytest.mark.parametrize("interactions", [20, 200])
def test_contact_detail__history_size__same_query_count(
    logged_in_client, workspace, contact, core_only, django_assert_num_queries, interactions
):
    _history(workspace, contact, interactions=interactions, start=timezone.now())
    # contact, timeline count, timeline keys, interactions, orders, order lines, deals
    with django_assert_num_queries(REQUEST_QUERIES + 7):
        response = logged_in_client.get(_url(contact))
    assert len(response.context["timeline"].entries) == min(interactions + 2, 25)


def test_contact_detail__panels__rendered_with_titles_and_none_skipped(logged_in_client, contact):
    seen = []

    def greet(request, panel_contact):
        seen.append((request.user.username, panel_contact.pk))
        return f"<p class='greeting'>Hello {escape(panel_contact.first_name)}</p>"

    shown = ContactPanel(key="test-greeting", title="Greeting", render=greet)
    silent = ContactPanel(key="test-silent", title="Silent panel", render=lambda r, c: None)
    extensions.contact_panels.register(shown)
    extensions.contact_panels.register(silent)
    try:
        html = _text(logged_in_client.get(_url(contact)))
    finally:
        extensions.contact_panels.unregister("test-greeting")
        extensions.contact_panels.unregister("test-silent")

    assert (
        '<section class="card panel" data-panel="test-greeting"> <h2>Greeting</h2> '
        "<p class='greeting'>Hello Ada</p> </section>"
    ) in html
    assert "Silent panel" not in html
    assert seen == [("rep", contact.pk)]
    assert "test-greeting" not in extensions.contact_panels
