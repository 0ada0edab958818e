"""The CRM's forms in a real browser: log an interaction, move a deal, fix a bad contact."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crmcore import factories
from crmcore.models import Contact, Deal, Interaction
from crmcore.workspaces import production_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"


def test_contact_page__log_a_call__success_message_and_top_of_timeline(
    browser_page, live_server, login, log_interaction
):
    workspace = production_workspace()
    rep = factories.UserFactory(username="rep", password=PASSWORD)
    ada = factories.ContactFactory(workspace=workspace, first_name="Ada", last_name="Lovelace")
    factories.InteractionFactory(
        workspace=workspace,
        contact=ada,
        subject="Kick-off call",
        occurred_at=timezone.now() - dt.timedelta(days=2),
    )
    page = browser_page
    login(page, live_server, "rep", PASSWORD)
    page.goto(f"{live_server.url}/contacts/{ada.pk}/")

    log_interaction(
        page,
        channel="call",
        direction="out",
        subject="Renewal call",
        body="Happy with the product; wants a quote.",
    )

    assert page.url == f"{live_server.url}/contacts/{ada.pk}/"
    assert page.locator(".message-success").inner_text() == "Interaction logged on Ada Lovelace."
    entries = page.locator("ol.timeline li.timeline-entry")
    assert entries.count() == 2
    assert "Renewal call" in entries.nth(0).inner_text()
    assert "Kick-off call" in entries.nth(1).inner_text()
    interaction = Interaction.objects.get(subject="Renewal call")
    assert (interaction.channel, interaction.direction, interaction.author_id) == (
        "call",
        "out",
        rep.pk,
    )


def test_pipeline_and_deal_page__move_a_deal__stage_changes_twice(browser_page, live_server, login):
    workspace = production_workspace()
    factories.UserFactory(username="rep", password=PASSWORD)
    deal = factories.DealFactory(workspace=workspace, name="Rocket fuel", stage="qualified")
    page = browser_page
    login(page, live_server, "rep", PASSWORD)

    # From the pipeline card: Qualified -> Proposal
    page.click("nav.main-nav >> text=Deals")
    card = page.locator(f"article.deal-card[data-deal='{deal.pk}']")
    card.locator("select[name=stage]").select_option("proposal")
    card.locator("button[type=submit]").click()
    page.wait_for_load_state()

    assert page.url == f"{live_server.url}/deals/"
    assert page.locator(".message-success").inner_text() == (
        "Rocket fuel moved from Qualified to Proposal."
    )
    assert page.locator(
        f"section[data-stage=proposal] article.deal-card[data-deal='{deal.pk}']"
    ).is_visible()

    # From the deal page: Proposal -> Won
    page.locator(f"article.deal-card[data-deal='{deal.pk}'] a.deal-link").click()
    assert page.locator("h1").inner_text() == "Rocket fuel"
    page.locator("[data-testid=deal-stage-form] button[value=won]").click()
    page.wait_for_load_state()

    assert page.url == f"{live_server.url}/deals/{deal.pk}/"
    assert page.locator("[data-testid=deal-stage]").inner_text() == "Won"
    deal.refresh_from_db()
    assert deal.stage == Deal.Stage.WON
    assert deal.closed_at is not None


def test_new_contact__bad_email_then_fixed__values_kept_and_created(
    browser_page, live_server, login
):
    factories.UserFactory(username="rep", password=PASSWORD)
    page = browser_page
    login(page, live_server, "rep", PASSWORD)
    page.goto(f"{live_server.url}/contacts/")
    page.click("[data-testid=contact-create]")

    form = page.locator("[data-testid=contact-form]")
    form.locator("input[name=first_name]").fill("Grace")
    form.locator("input[name=last_name]").fill("Hopper")
    # The browser would refuse "grace@" itself; the server must refuse it too.
    form.locator("input[name=email]").evaluate("el => el.type = 'text'")
    form.locator("input[name=email]").fill("grace@")
    form.locator("textarea[name=attributes]").fill("rank = Rear admiral")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()

    assert Contact.objects.count() == 0
    assert page.locator("[data-field=email] .field-errors").inner_text() == (
        "Enter a valid email address."
    )
    assert page.locator("input[name=last_name]").input_value() == "Hopper"
    assert page.locator("textarea[name=attributes]").input_value() == "rank = Rear admiral"

    page.locator("input[name=email]").fill("grace@navy.example")
    page.locator("[data-testid=contact-form] button[type=submit]").click()
    page.wait_for_load_state()

    grace = Contact.objects.get()
    assert page.url == f"{live_server.url}/contacts/{grace.pk}/"
    assert page.locator("h1").inner_text() == "Grace Hopper"
    assert grace.attributes == {"rank": "Rear admiral"}
