"""The CRM pages in a real browser: log in, search contacts, read a timeline."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crmcore import factories
from crmcore.workspaces import production_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"


def test_login__valid_credentials__lands_on_dashboard(browser_page, live_server, login):
    factories.UserFactory(username="ada", first_name="Ada", last_name="Lovelace", password=PASSWORD)

    login(browser_page, live_server, "ada", PASSWORD)

    assert browser_page.locator(".brand").inner_text() == "PilotCRM"
    assert browser_page.locator("h1").inner_text() == "Dashboard"
    assert browser_page.locator(".user-name").inner_text() == "Ada Lovelace"


def test_login__wrong_password__stays_on_login_with_error(browser_page, live_server):
    factories.UserFactory(username="ada", password=PASSWORD)

    browser_page.goto(f"{live_server.url}/login/")
    browser_page.fill("input[name=username]", "ada")
    browser_page.fill("input[name=password]", "wrong")
    browser_page.click("form.stacked-form button[type=submit]")

    assert browser_page.url == f"{live_server.url}/login/"
    assert "Please enter a correct username" in browser_page.locator(".form-errors").inner_text()


def test_contacts__search_then_open__shows_timeline(browser_page, live_server, login):
    workspace = production_workspace()
    factories.UserFactory(username="rep", password=PASSWORD)
    acme = factories.AccountFactory(workspace=workspace, name="Acme Rockets")
    ada = factories.ContactFactory(
        workspace=workspace, first_name="Ada", last_name="Lovelace", account=acme
    )
    factories.ContactFactory(workspace=workspace, first_name="Grace", last_name="Hopper")
    now = timezone.now()
    factories.InteractionFactory(
        workspace=workspace, contact=ada, subject="Asked about pricing", occurred_at=now
    )
    factories.InteractionFactory(
        workspace=workspace,
        contact=ada,
        subject="Kick-off call",
        occurred_at=now - dt.timedelta(days=3),
    )
    login(browser_page, live_server, "rep", PASSWORD)

    browser_page.click("nav.main-nav >> text=Contacts")
    browser_page.fill("input[name=q]", "acme")
    browser_page.click("form.filters button[type=submit]")

    rows = browser_page.locator("table.table tbody tr")
    assert rows.count() == 1
    assert "Ada Lovelace" in rows.first.inner_text()

    browser_page.click("text=Ada Lovelace")

    assert browser_page.locator("h1").inner_text() == "Ada Lovelace"
    entries = browser_page.locator("ol.timeline li.timeline-entry")
    assert entries.count() == 2
    assert "Asked about pricing" in entries.nth(0).inner_text()
    assert "Kick-off call" in entries.nth(1).inner_text()


def test_logout__button__returns_to_login(browser_page, live_server, login):
    factories.UserFactory(username="rep", password=PASSWORD)
    login(browser_page, live_server, "rep", PASSWORD)

    browser_page.click("text=Log out")

    assert browser_page.url == f"{live_server.url}/login/"
    browser_page.goto(f"{live_server.url}/contacts/")
    assert browser_page.url == f"{live_server.url}/login/?next=/contacts/"
