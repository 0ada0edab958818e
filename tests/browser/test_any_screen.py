"""Any screen: one header line at 1366 px for a pilot user, a menu button at 390 px,
lists that fit the phone's width, the contact page's forms one tap away."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crmcore import factories
from crmcore.workspaces import production_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"


@pytest.fixture
def pilot_rep(enable_capability):
    from ai_features.registry import registry

    workspace = production_workspace()
    rep = factories.UserFactory(username="alice", first_name="Alice", password=PASSWORD)
    team = factories.TeamFactory(workspace=workspace, name="EMEA Sales", members=[rep])
    for capability in registry:
        enable_capability(capability.key, teams=[team])
    account = factories.AccountFactory(workspace=workspace, name="Moraes-Câmara Incorporated")
    for n in range(12):
        factories.ContactFactory(
            workspace=workspace,
            first_name=f"Person{n}",
            last_name="With-A-Rather-Long-Surname",
            email=f"person{n}.with.a.long.address@moraescamarainc.example",
            account=account,
            owner=rep,
            team=team,
        )
    return rep


def _open(chromium_browser, width: int):
    context = chromium_browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def test_pilot_user__1366__header_on_one_line_with_ai_menu(
    chromium_browser, live_server, login, pilot_rep
):
    context, page = _open(chromium_browser, 1366)
    try:
        login(page, live_server, "alice", PASSWORD)
        header = page.locator(".site-header").bounding_box()
        assert header["height"] <= 60
        expect(page.locator("[data-testid=nav-toggle]")).to_be_hidden()
        ai_menu = page.locator("details.nav-group[data-nav-group=AI]")
        expect(ai_menu.locator("a[data-nav=prediction]")).to_be_hidden()
        ai_menu.locator("summary").click()
        expect(ai_menu.locator("a[data-nav=prediction]")).to_be_visible()
        page.mouse.click(1300, 850)  # a click elsewhere closes it
        expect(ai_menu.locator("a[data-nav=prediction]")).to_be_hidden()
    finally:
        context.close()


def test_pilot_user__390__menu_button_lists_fit_and_log_form_one_tap_away(
    chromium_browser, live_server, login, pilot_rep
):
    context, page = _open(chromium_browser, 390)
    try:
        login(page, live_server, "alice", PASSWORD)
        assert page.locator(".site-header").bounding_box()["height"] <= 60
        nav = page.locator("nav.main-nav")
        expect(nav).to_be_hidden()
        page.locator("[data-testid=nav-toggle]").click()
        expect(nav).to_be_visible()
        nav.locator("text=Contacts").click()
        page.wait_for_load_state()

        # The contact list turns into cards: nothing wider than the phone
        expect(page.locator("[data-testid=contact-table]")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        page.locator("[data-testid=contact-table] td.cell-primary a").first.click()
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator("[data-testid=jump-log]").click()
        form = page.locator("[data-testid=interaction-form]")
        expect(form).to_be_in_viewport()
    finally:
        context.close()
