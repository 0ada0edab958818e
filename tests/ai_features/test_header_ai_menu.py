"""The header's AI menu: every page a capability adds, grouped, for those who have it."""

from __future__ import annotations

import re

from django.urls import reverse

from ai_features.registry import registry


def test_pilot_user__every_ai_page_in_the_ai_menu(client, user, enable_capability):
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


def test_staff__rollout_in_the_ai_menu(staff_client):
    html = staff_client.get(reverse("dashboard")).content.decode()
    menu = html.split('data-nav-group="AI">')[1].split("</details>")[0]
    assert "AI rollout" in menu
