"""axe-core (vendored under tests/browser/vendor) finds no serious or critical
violation on the main pages, at 1366 and 390 px wide."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmcore import factories, services
from crmcore.workspaces import production_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
PASSWORD = "pw-for-tests-only"


@pytest.mark.parametrize("width", [1366, 390])
def test_main_pages__no_serious_or_critical_violations(chromium_browser, live_server, login, width):
    from django.utils import timezone

    workspace = production_workspace()
    rep = factories.UserFactory(username="rita", password=PASSWORD)
    factories.TeamFactory(workspace=workspace, name="EMEA Sales", members=[rep])
    contact = factories.ContactFactory(workspace=workspace, owner=rep)
    factories.InteractionFactory(workspace=workspace, contact=contact)
    deal = factories.DealFactory(workspace=workspace, contact=contact, owner=rep)
    services.task_create(
        workspace=workspace, owner=rep, title="Call", due_date=timezone.localdate()
    )
    # The script is injected by the test, not served: the context bypasses the CSP for it.
    context = chromium_browser.new_context(
        viewport={"width": width, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    try:
        login(page, live_server, "rita", PASSWORD)
        found = {}
        for path in [
            "/",
            "/contacts/",
            f"/contacts/{contact.pk}/",
            f"/contacts/{contact.pk}/edit/",
            "/deals/",
            f"/deals/{deal.pk}/",
            f"/deals/{deal.pk}/edit/",
            "/tasks/",
            "/campaigns/",
        ]:
            page.goto(f"{live_server.url}{path}")
            page.add_script_tag(content=AXE)
            results = page.evaluate("async () => await axe.run(document)")
            serious = [
                f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
                for v in results["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            if serious:
                found[path] = serious
        assert found == {}
    finally:
        context.close()
