"""The header: grouped drop-downs (the AI pages under one "AI" menu) and a narrow-screen menu."""

import pytest
from django.urls import reverse

from crmcore import extensions
from crmcore.context_processors import NavGroup, nav_entries
from crmcore.extensions import NavItem

pytestmark = pytest.mark.django_db


def test_nav_entries__groups_gathered_where_their_first_item_is():
    a = NavItem("a", "A", "dashboard")
    b = NavItem("b", "B", "dashboard", group="AI")
    c = NavItem("c", "C", "dashboard")
    d = NavItem("d", "D", "dashboard", group="AI")
    entries = nav_entries([a, b, c, d])
    assert [getattr(e, "key", None) for e in entries] == ["a", None, "c"]
    assert entries[1] == NavGroup(label="AI", items=[b, d])


def test_base__grouped_items__one_details_menu(logged_in_client, core_only):
    extensions.nav_items.register(NavItem("x1", "First AI page", "campaign-list", group="AI"))
    extensions.nav_items.register(NavItem("x2", "Second AI page", "deal-pipeline", group="AI"))
    html = logged_in_client.get(reverse("dashboard")).content.decode()
    assert html.count('<details class="nav-group" data-nav-group="AI">') == 1
    menu = html.split('data-nav-group="AI">')[1].split("</details>")[0]
    assert "First AI page" in menu and "Second AI page" in menu
    assert 'id="nav-toggle"' in html and 'for="nav-toggle"' in html


def test_rep_outside_the_pilot__no_ai_menu(logged_in_client):
    html = logged_in_client.get(reverse("dashboard")).content.decode()
    assert 'data-nav-group="AI"' not in html
    # One Campaigns link, for everyone: the campaign builder (plain mail merge when off)
    assert html.count('data-nav="campaigns"') == 1
    assert 'data-nav="campaign-builder"' not in html
