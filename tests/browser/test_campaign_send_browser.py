"""A rep builds a win-back campaign for churned customers, sees the fallbacks and left-out
sentences, test-sends, confirms, sends; another rep reads what was sent."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect
from waffle import get_waffle_flag_model

from crmcore import factories
from crmcore.workspaces import production_workspace
from tests.ai_features.personalization.helpers import order_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"
BODY = (
    "Hi {first_name},\n\n"
    "[Since your last order of {last_purchase}, we have improved a lot.] "
    "{next_product|Our Analytics add-on} might be a good fit for {company|your team}.\n\n"
    "Best regards"
)


def _enable(*flag_names: str) -> None:
    for name in flag_names:
        flag, _ = get_waffle_flag_model().objects.get_or_create(name=name)
        flag.everyone = True
        flag.save()
        flag.flush()


def test_win_back__preview_test_send_confirm_send_and_read_as_another_user(
    browser_page, chromium_browser, live_server, login
):
    _enable("ai_personalization", "ai_prediction", "ai_sentiment")
    workspace = production_workspace()
    starter = factories.ProductFactory(workspace=workspace, name="Starter")
    cara = factories.ContactFactory(
        workspace=workspace, first_name="Cara", lifecycle_stage="churned", account=None
    )
    order_of(cara, starter, days_ago=200)
    dan = factories.ContactFactory(
        workspace=workspace, first_name="Dan", lifecycle_stage="churned", account=None
    )
    factories.ContactFactory(
        workspace=workspace, first_name="Eve", lifecycle_stage="churned", marketing_opt_out=True
    )
    factories.UserFactory(username="pia", password=PASSWORD, email="pia@example.com")
    factories.UserFactory(username="olga", password=PASSWORD)
    page = browser_page
    login(page, live_server, "pia", PASSWORD)

    # Write the campaign in the one Campaigns area
    page.click("[data-nav=campaigns]")
    page.click("text=New campaign")
    page.fill("input[name=name]", "Win back churned customers")
    page.select_option("select[name=goal]", "win_back")
    page.select_option("select[name=lifecycle_stage]", "churned")
    page.fill("input[name=subject_template]", "{first_name}, we miss you")
    page.fill("textarea[name=body_template]", BODY)
    page.click("form.builder-form button[type=submit]")

    # The preview says which fallback and which left-out sentence each message used
    dan_card = page.locator(f"article[data-contact='{dan.pk}']")
    expect(dan_card.locator("[data-unused=last_order]")).to_contain_text(
        "sentence left out: “Since your last order of {last_purchase}, we have improved a lot.”"
    )
    expect(dan_card.locator("[data-unused=next_product]")).to_contain_text(
        "fallback “Our Analytics add-on” used"
    )
    cara_card = page.locator(f"article[data-contact='{cara.pk}']")
    expect(cara_card.locator("[data-testid=preview-body]")).to_contain_text(
        "Since your last order of Starter, we have improved a lot."
    )

    # Build, approve
    page.click("text=Build messages")
    page.reload()
    expect(page.locator("[data-testid=message-counts]")).to_contain_text("3 built: 3 drafts")
    page.click("button:has-text('Approve')")

    # Test-send one message to myself
    page.click("text=See and edit them")
    page.locator("tr:has-text('Cara') a:has-text('Edit')").click()
    page.click("[data-testid=test-send]")
    expect(page.locator(".message-success")).to_contain_text("sent to pia@example.com")
    assert [m.to for m in mail.outbox] == [["pia@example.com"]]

    # Confirm: exactly what will happen; send
    page.click("text=Win back churned customers")
    page.click("[data-testid=send-link]")
    expect(page.locator("[data-testid=send-sentence]")).to_have_text(
        "2 emails to 2 contacts, 1 skipped: 1 opted out of marketing."
    )
    page.click("[data-testid=confirm-send]")
    expect(page.locator("[data-testid=campaign-status]")).to_have_text("Sent")
    expect(page.locator("[data-result=sent]")).to_have_text("2")
    sent = {m.to[0]: m for m in mail.outbox[1:]}
    assert set(sent) == {cara.email, dan.email}

    # Another rep reads exactly what was sent
    other = chromium_browser.new_context().new_page()
    login(other, live_server, "olga", PASSWORD)
    other.click("[data-nav=campaigns]")
    other.click("text=Win back churned customers")
    other.click("text=See what was sent to whom")
    other.locator("tr:has-text('Dan') a:has-text('Read')").click()
    expect(other.locator("[data-testid=stored-body]")).to_have_text(sent[dan.email].body)
    expect(other.locator("[data-testid=stored-subject]")).to_have_text("Dan, we miss you")
    other.context.close()
