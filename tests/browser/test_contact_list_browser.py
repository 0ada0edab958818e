"""The contact list as a pilot rep uses it, at 1366 and 390 px: the churn-risk column
and filter, a filter saved by name, and adding the found customers to a campaign."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ai_features.capabilities.prediction import services as prediction
from ai_features.capabilities.prediction.models import ContactScore
from crmcore import factories
from crmcore.models import Campaign, SavedFilter
from crmcore.workspaces import production_workspace
from tests.ai_features.prediction.helpers import make_history

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"


@pytest.fixture(params=[1366, 390], ids=lambda w: f"{w}px")
def page_at(request, chromium_browser):
    context = chromium_browser.new_context(viewport={"width": request.param, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.width = request.param
    yield page
    context.close()


def test_pilot_rep__finds_at_risk_customers_saves_the_filter_adds_them_to_a_campaign(
    page_at, live_server, login, enable_capability, settings
):
    page = page_at
    settings.AI_PREDICTION_MIN_AUC = 0.5
    workspace = production_workspace()
    rep = factories.UserFactory(username="rita", first_name="Rita", password=PASSWORD)
    team = factories.TeamFactory(workspace=workspace, name="EMEA Sales", members=[rep])
    enable_capability("prediction", teams=[team])
    make_history(workspace, customers=10, churned=10)
    prediction.model_version_train(workspace=workspace)
    prediction.contacts_score(workspace=workspace)
    risky = factories.ContactFactory(
        workspace=workspace, first_name="Rhea", last_name="Risky", lifecycle_stage="customer"
    )
    ContactScore.objects.filter(workspace=workspace).update(probability=0.2, band="low")
    ContactScore.objects.create(
        workspace=workspace,
        contact=risky,
        model_version=ContactScore.objects.first().model_version,
        probability=0.91,
        log_odds=2.3,
        band="high",
    )
    campaign = factories.CampaignFactory(
        workspace=workspace, name="Spring check-in", status="draft"
    )
    login(page, live_server, "rita", PASSWORD)

    # The churn-risk filter on the contact list
    page.goto(f"{live_server.url}/contacts/")
    page.select_option("[data-testid=filter-churn_risk]", "high")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    rows = page.locator("[data-testid=contact-table] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Rhea Risky")
    expect(rows.first.locator("[data-column=churn_risk]")).to_contain_text("91%")

    # Saved under a name, and opened again from the saved filters
    page.fill("#save-filter-name", "Hot risks")
    page.locator("[data-testid=save-filter] button").click()
    page.wait_for_load_state()
    assert SavedFilter.objects.get(owner=rep).query == "churn_risk=high"
    page.goto(f"{live_server.url}/contacts/")
    page.locator("[data-testid=my-filter]").get_by_role("link", name="Hot risks").click()
    page.wait_for_load_state()
    expect(page.locator("[data-testid=contact-table] tbody tr")).to_have_count(1)

    # The found customer added to the campaign from the bulk bar
    page.get_by_label("Select Rhea Risky").check()
    expect(page.locator("#bulk-campaign")).to_be_hidden()
    page.select_option("#bulk-action", "add_to_campaign")
    expect(page.locator("#bulk-campaign")).to_be_visible()
    expect(page.locator("#bulk-owner")).to_be_hidden()
    page.select_option("#bulk-campaign", str(campaign.pk))
    page.locator("[data-testid=bulk-apply]").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text(
        "Added 1 contact to the campaign Spring check-in."
    )
    campaign.refresh_from_db()
    assert campaign.audience["contacts"] == [risky.pk]
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    assert page.evaluate("document.documentElement.scrollWidth") <= page.width
