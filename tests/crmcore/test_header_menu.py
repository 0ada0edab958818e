"""The header: grouped drop-downs (the AI pages under one "AI" menu) and a narrow-screen menu."""

import re

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


def test_pilot_user__every_ai_page_in_the_ai_menu(client, user, enable_capability):
    from ai_features.registry import registry

    for capability in registry:
        enable_capability(capability.key, users=[user])
    client.force_login(user)
    html = client.get(reverse("dashboard")).content.decode()
    menu = html.split('data-nav-group="AI">')[1].split("</details>")[0]
    top_level = html.split('<nav class="main-nav"')[1].split("</nav>")[0]
    top_level = re.sub(r"<details.*?</details>", "", top_level, flags=re.S)
    assert re.findall(r'data-nav="([\w-]+)"', menu) == [
        "prediction",
        "prediction-forecast",
        "sentiment-alerts",
    ]
    assert "Churn models" not in top_level
    # Dashboard, Contacts, Tasks, Deals, Campaigns (one area: the builder takes the link), Import
    assert top_level.count("<a ") == 6


def test_rep_outside_the_pilot__no_ai_menu(logged_in_client):
    html = logged_in_client.get(reverse("dashboard")).content.decode()
    assert 'data-nav-group="AI"' not in html
    # One Campaigns link, for everyone: the campaign builder (plain mail merge when off)
    assert html.count('data-nav="campaigns"') == 1
    assert 'data-nav="campaign-builder"' not in html


def test_staff__rollout_in_the_ai_menu(staff_client):
    html = staff_client.get(reverse("dashboard")).content.decode()
    menu = html.split('data-nav-group="AI">')[1].split("</details>")[0]
    assert "AI rollout" in menu
