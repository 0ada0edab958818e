"""The campaign template is checked as the author types, in headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crmcore import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"


def test_campaign_form__typing_a_wrong_placeholder__problem_shown_then_cleared(
    browser_page, live_server, login
):
    factories.UserFactory(username="pia", password=PASSWORD)
    page = browser_page
    login(page, live_server, "pia", PASSWORD)
    page.goto(f"{live_server.url}/campaigns/new/")
    check = page.locator("[data-testid=template-check-body_template]")

    # When the author types a misspelt placeholder on the second line
    page.fill("textarea[name=body_template]", "Hi there,\n{frist_name}")

    # Then the server's check is shown under the field, with its position
    check.locator("li").wait_for()
    assert check.locator("li").all_inner_texts() == [
        "Line 2, column 1: Unknown placeholder {frist_name}: did you mean {first_name}?"
    ]

    # And once it is fixed the problem goes away
    page.fill("textarea[name=body_template]", "Hi {first_name},\n\n[We miss {company}.]")
    # (a locator assertion: the page's CSP forbids the eval that wait_for_function uses)
    expect(check).to_have_text("No problem found.")
    assert page.locator("[data-testid=placeholder-help]").is_visible()
