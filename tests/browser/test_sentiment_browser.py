import datetime as dt

import pytest
from django.utils import timezone

from ai_features.capabilities.sentiment.services import sentiment_analyze_interactions
from crmcore import factories
from crmcore.workspaces import production_workspace

WARM = [
    "Thanks, the onboarding was excellent.",
    "Great work on the migration.",
    "We love the new dashboard.",
    "Really pleased with the support.",
]
COLD = ["The report is wrong.", "Terrible upgrade, nothing works.", "Bad service again."]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_contact_page__sentiment_on__trend_chart_drawn(
    browser_page, live_server, login, enable_capability
):
    # Given a contact whose tone went from warm to cold, analysed
    workspace = production_workspace()
    factories.UserFactory(username="ada", password="pw-for-tests-only")
    enable_capability("sentiment")
    contact = factories.ContactFactory(workspace=workspace)
    start = timezone.now() - dt.timedelta(days=10)
    for i, body in enumerate(WARM + COLD):
        factories.InteractionFactory(
            workspace=workspace,
            contact=contact,
            subject="",
            body=body,
            occurred_at=start + dt.timedelta(days=i),
        )
    sentiment_analyze_interactions(workspace=workspace)

    # When the rep opens the contact page
    login(browser_page, live_server, "ada", "pw-for-tests-only")
    browser_page.goto(f"{live_server.url}/contacts/{contact.pk}/")

    # Then the panel shows a drawn trend line with one point per interaction
    chart = browser_page.get_by_test_id("sentiment-trend")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 50
    assert browser_page.locator("svg.sentiment-trend circle.trend-point").count() == 7
    assert browser_page.get_by_test_id("sentiment-alert").is_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_contact_page__sentiment_off__no_panel(browser_page, live_server, login):
    factories.UserFactory(username="bob", password="pw-for-tests-only")
    contact = factories.ContactFactory(workspace=production_workspace())

    login(browser_page, live_server, "bob", "pw-for-tests-only")
    browser_page.goto(f"{live_server.url}/contacts/{contact.pk}/")

    assert browser_page.locator("[data-testid=sentiment-panel]").count() == 0
    assert browser_page.locator("h1").inner_text() == contact.full_name
