"""The pipeline in a real browser: drag a card to another column; my deals."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crmcore import factories
from crmcore.models import Deal
from crmcore.workspaces import production_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"


@pytest.mark.parametrize("width", [1366, 390])
def test_pipeline__move_a_card_to_another_column__deal_moves(
    browser_page, live_server, login, width
):
    """Dragged with a mouse on a wide screen; on a phone (no drag) its stage menu does it."""
    workspace = production_workspace()
    rep = factories.UserFactory(username="rep", password=PASSWORD)
    deal = factories.DealFactory(
        workspace=workspace, name="Rocket fuel", stage="qualified", amount=1200, owner=rep
    )
    factories.DealFactory(workspace=workspace, name="Someone else's", stage="qualified")
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "rep", PASSWORD)
    page.goto(f"{live_server.url}/deals/?mine=1")
    expect(page.locator("section[data-stage=qualified] article.deal-card")).to_have_count(1)

    card = page.locator(f"article.deal-card[data-deal='{deal.pk}']")
    if width > 800:
        card.drag_to(page.locator("section.pipeline-column[data-stage=negotiation]"))
    else:
        card.locator("select[name=stage]").select_option("negotiation")
        card.locator("button[type=submit]").click()

    expect(page.locator(".message-success")).to_have_text(
        "Rocket fuel moved from Qualified to Negotiation."
    )
    assert page.url == f"{live_server.url}/deals/?mine=1"
    expect(
        page.locator(f"section[data-stage=negotiation] article.deal-card[data-deal='{deal.pk}']")
    ).to_be_visible()
    expect(page.locator("section[data-stage=negotiation] .count")).to_have_text("1 deal")
    deal.refresh_from_db()
    assert deal.stage == Deal.Stage.NEGOTIATION
