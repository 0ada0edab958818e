"""A new trainee's first lesson (CRM basics), in headless Chromium.

Create the sandbox from the header, start the lesson, see Check list what is
missing, do the steps in the sandbox, and see Check pass.
"""

from __future__ import annotations

import re

import pytest

from crmcore import factories
from crmcore.models import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"

# The CRM pages have no forms (yet) for logging an interaction or moving a
# deal; the trainee's browser does both through the REST API with its own
# session, as the pages' scripts would.
API_CALL = """async ([method, path, body]) => {
  const csrf = document.cookie.split('; ').find(c => c.startsWith('csrftoken=')).split('=')[1];
  const response = await fetch(path, {
    method, credentials: 'same-origin',
    headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
    body: body ? JSON.stringify(body) : undefined,
  });
  return [response.status, await response.json()];
}"""


def test_first_lesson__new_trainee__creates_sandbox_does_steps_and_passes(
    browser_page, live_server, login, settings
):
    settings.TRAINING_SANDBOX_DEFAULT_CONTACTS = 40
    factories.UserFactory(username="tina", password=PASSWORD)
    page = browser_page
    login(page, live_server, "tina", PASSWORD)

    # Create the sandbox from the header, in one click
    page.click("[data-nav=sandbox-enter]")
    page.click("[data-testid=create-sandbox]")
    page.wait_for_url(f"{live_server.url}/sandbox/lessons/")
    assert "SANDBOX" in page.locator("[data-testid=sandbox-banner]").inner_text()
    assert page.locator("[data-nav=sandbox-leave]").inner_text() == "Leave sandbox"

    # Start the first lesson; Check says what is still missing
    page.click("tr[data-lesson=crm-basics] a")
    page.click("[data-testid=lesson-start]")
    page.click("[data-testid=lesson-check]")
    missing = page.locator("[data-testid=step-missing]").all_inner_texts()
    assert missing == [
        "Log an interaction on any contact (found 0 of 1 since you started this lesson).",
        "Move a deal to another stage (found 0 of 1 since you started this lesson).",
    ]

    # Step 1: open a contact and log a call on it
    page.click("li[data-step=log-interaction] a")
    page.locator("table a[href^='/contacts/']").first.click()
    contact_id = int(re.search(r"/contacts/(\d+)/", page.url).group(1))
    status, _ = page.evaluate(
        API_CALL,
        [
            "POST",
            "/api/v1/interactions/",
            {
                "contact": contact_id,
                "channel": "call",
                "direction": "out",
                "subject": "First call",
                "occurred_at": "2025-01-01T10:00:00Z",
            },
        ],
    )
    assert status == 201

    # Step 2: move a qualified deal to the proposal stage
    page.goto(f"{live_server.url}/deals/")
    status, deals = page.evaluate(API_CALL, ["GET", "/api/v1/deals/?stage=qualified", None])
    status, deal = page.evaluate(
        API_CALL, ["PATCH", f"/api/v1/deals/{deals['results'][0]['id']}/", {"stage": "proposal"}]
    )
    assert (status, deal["stage"]) == (200, "proposal")

    # Check passes
    page.goto(f"{live_server.url}/sandbox/lessons/crm-basics/")
    page.click("[data-testid=lesson-check]")
    assert page.locator("[data-testid=lesson-status]").inner_text().startswith("Passed")
    assert page.locator("[data-testid=step-done]").count() == 2
    assert page.locator("[data-testid=step-missing]").count() == 0
    sandbox = Workspace.objects.get(owner__username="tina")
    assert sandbox.kind == "sandbox"
