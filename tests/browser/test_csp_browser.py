"""The Content-Security-Policy in a real browser: the pages load with no violation."""

from __future__ import annotations

import pytest

from crmcore import factories
from crmcore.workspaces import production_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"


def test_pages__staff_user__no_csp_violation_in_the_console(browser_page, live_server, login):
    workspace = production_workspace()
    factories.StaffUserFactory(username="ada", password=PASSWORD)
    contact = factories.ContactFactory(workspace=workspace)
    deal = factories.DealFactory(workspace=workspace, contact=contact)
    factories.InteractionFactory(workspace=workspace, contact=contact)
    violations: list[str] = []
    browser_page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    login(browser_page, live_server, "ada", PASSWORD)

    pages = [
        "/",
        "/contacts/",
        f"/contacts/{contact.pk}/",
        "/contacts/new/",
        "/deals/",
        f"/deals/{deal.pk}/",
        "/campaigns/",
        "/integrations/import/",
        "/admin/",
        "/sandbox/",
    ]
    statuses = {}
    for path in pages:
        response = browser_page.goto(f"{live_server.url}{path}")
        browser_page.wait_for_load_state("load")
        statuses[path] = response.status
    browser_page.goto(f"{live_server.url}/api/docs/")
    browser_page.wait_for_selector(".swagger-ui .info .title")

    assert statuses == dict.fromkeys(pages, 200)
    assert "PilotCRM API" in browser_page.locator(".swagger-ui .info .title").inner_text()
    assert violations == []
