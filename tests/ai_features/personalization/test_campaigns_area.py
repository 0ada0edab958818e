"""One Campaigns area: one header link, lit on every campaign page, whatever the flag."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from ai_features.capabilities.personalization import services

FLAG_STATES = ["on", "off", "kill"]


@pytest.fixture
def flag(request):
    state = request.param
    if state in ("on", "kill"):
        request.getfixturevalue("all_on")
    if state == "kill":
        request.getfixturevalue("kill_switch")
    return state


def _nav(html: str) -> str:
    return html.split('<nav class="main-nav"', 1)[1].split("</nav>", 1)[0]


@pytest.mark.parametrize("flag", FLAG_STATES, indirect=True)
def test_nav__one_campaigns_link_to_the_campaigns_area_lit_on_each_campaign_page(
    logged_in_client, campaign, customers, user, flag
):
    services.campaign_messages_build(campaign=campaign, user=user)
    message = campaign.personalized_messages.first()
    pages = [
        reverse("personalization:campaign-list"),
        reverse("personalization:campaign-new"),
        reverse("personalization:campaign-builder", args=[campaign.pk]),
        reverse("personalization:message-list", args=[campaign.pk]),
        reverse("personalization:message-edit", args=[campaign.pk, message.pk]),
        reverse("campaign-list"),
    ]
    for url in pages:
        nav = _nav(logged_in_client.get(url).content.decode())
        links = re.findall(r"<a [^>]*>[^<]*</a>", nav)
        assert [a for a in links if "Campaign" in a] == [
            f'<a href="{reverse("personalization:campaign-list")}" data-nav="campaigns" '
            'aria-current="page">Campaigns</a>'
        ], url
        assert nav.count('aria-current="page"') == 1, url


def test_nav__contacts_page__campaigns_not_lit(logged_in_client):
    nav = _nav(logged_in_client.get(reverse("contact-list")).content.decode())
    assert nav.count('aria-current="page"') == 1
    assert 'data-nav="campaigns">Campaigns</a>' in nav
