"""A pilot rep builds a campaign and previews tailored messages, in headless Chromium."""

from __future__ import annotations

import pytest
from waffle import get_waffle_flag_model

from crmcore import factories
from crmcore.workspaces import production_workspace
from tests.ai_features.personalization.helpers import two_customers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"


def _enable(*flag_names: str) -> None:
    for name in flag_names:
        flag, _ = get_waffle_flag_model().objects.get_or_create(name=name)
        flag.everyone = True
        flag.save()
        flag.flush()


def test_campaign_builder__pilot_rep__previews_tailored_messages_with_facts(
    browser_page, live_server, login
):
    _enable("ai_personalization", "ai_prediction", "ai_sentiment")
    ada, ben = two_customers(production_workspace())
    factories.UserFactory(username="pia", password=PASSWORD)
    page = browser_page
    login(page, live_server, "pia", PASSWORD)

    # Open the builder from the header and write a win-back campaign
    page.click("[data-nav=campaigns]")
    page.click("text=New campaign")
    page.fill("input[name=name]", "Win them back")
    page.select_option("select[name=goal]", "win_back")
    page.select_option("select[name=lifecycle_stage]", "customer")
    page.fill("input[name=subject_template]", "{first_name}, we miss you")
    page.fill("textarea[name=body_template]", "Hi {first_name},\n\nAll the best")
    page.click("form.builder-form button[type=submit]")

    # The preview shows each contact's own message and the facts it used
    assert page.locator("[data-testid=mode]").inner_text() == "Personalized"
    assert page.locator("[data-testid=audience-size]").inner_text() == "2"
    ada_card = page.locator(f"article[data-contact='{ada.pk}']")
    ben_card = page.locator(f"article[data-contact='{ben.pk}']")
    assert ada_card.locator("[data-testid=preview-subject]").inner_text() == "Ada, we miss you"
    assert ada_card.locator("[data-fact=last_order]").inner_text() == (
        "Last order: Analytics Pro, 64 days ago"
    )
    assert (
        ada_card.locator("[data-testid=preview-body]")
        .inner_text()
        .startswith("Hi Ada,\n\nI'm sorry about the trouble in your ticket 3 days ago")
    )
    assert ben_card.locator("[data-fact=next_product]").inner_text() == (
        "Next product: Analytics Pro (from Prediction — "
        "bought next by customers with the same purchases)"
    )
    assert ben_card.locator("[data-fact=best_channel]").inner_text() == (
        "Answers most by: Call (3 of 3 inbound)"
    )
