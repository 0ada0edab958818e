"""A new trainee's first lesson (CRM basics), in headless Chromium.

Create the sandbox from the header, start the lesson, see Check list what is
missing, do the steps in the sandbox through the CRM's forms (log a call on a
contact, move a deal on the pipeline), answer the knowledge check (a wrong
answer is explained) and see the lesson pass.
"""

from __future__ import annotations

import re

import pytest

from crmcore import factories
from crmcore.models import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"


def test_first_lesson__new_trainee__creates_sandbox_does_steps_and_passes(
    browser_page, live_server, login, log_interaction, settings
):
    settings.TRAINING_SANDBOX_DEFAULT_CONTACTS = 40
    factories.UserFactory(username="tina", password=PASSWORD)
    page = browser_page
    login(page, live_server, "tina", PASSWORD)

    # Create the sandbox from the header, in one click
    page.click("[data-nav-group=Training] > summary")  # the header's Training menu
    page.click("[data-nav=sandbox-enter]")
    page.click("[data-testid=create-sandbox]")
    page.wait_for_url(f"{live_server.url}/sandbox/lessons/")
    assert "SANDBOX" in page.locator("[data-testid=sandbox-banner]").inner_text()
    assert page.locator("[data-nav=sandbox-leave]").text_content() == "Leave sandbox"

    # Start the first lesson; Check says what is still missing
    page.click("tr[data-lesson=crm-basics] a")
    page.click("[data-testid=lesson-start]")
    page.click("[data-testid=lesson-check]")
    missing = page.locator("[data-testid=step-missing]").all_inner_texts()
    assert missing == [
        "Log an interaction on any contact (found 0 of 1 since you started this lesson).",
        "Move a deal to another stage (found 0 of 1 since you started this lesson).",
    ]

    # Step 1: open a contact and log a call on it, with the form on its page
    page.click("li[data-step=log-interaction] a")
    page.locator("table a[href^='/contacts/']").first.click()
    contact_id = int(re.search(r"/contacts/(\d+)/", page.url).group(1))
    log_interaction(page, channel="call", direction="out", subject="First call")
    assert page.url == f"{live_server.url}/contacts/{contact_id}/"
    assert "First call" in page.locator("ol.timeline li.timeline-entry").first.inner_text()

    # Step 2: move a qualified deal to the proposal stage, from its pipeline card
    page.goto(f"{live_server.url}/deals/")
    card = page.locator("section[data-stage=qualified] article.deal-card").first
    deal_id = card.get_attribute("data-deal")
    card.locator("select[name=stage]").select_option("proposal")
    card.locator("button[type=submit]").click()
    page.wait_for_load_state()
    moved = page.locator(f"section[data-stage=proposal] article.deal-card[data-deal='{deal_id}']")
    assert (page.url, moved.count()) == (f"{live_server.url}/deals/", 1)

    # The steps are done; the knowledge check is still to answer
    page.goto(f"{live_server.url}/sandbox/lessons/crm-basics/")
    page.click("[data-testid=lesson-check]")
    assert page.locator("[data-testid=lesson-status]").inner_text().startswith("In progress")

    # A wrong answer is explained; the right one passes the lesson
    page.check("fieldset[data-question=where-to-log] input[value='1']")
    page.check("fieldset[data-question=sandbox-reach] input[value='1']")
    page.click("[data-testid=lesson-answer]")
    explanation = page.locator("[data-testid=question-explanation]")
    assert explanation.count() == 1
    assert "timeline every colleague sees" in explanation.inner_text()
    page.check("fieldset[data-question=where-to-log] input[value='0']")
    page.click("[data-testid=lesson-answer]")
    assert page.locator("[data-testid=lesson-status]").inner_text().startswith("Passed")
    assert page.locator("[data-testid=step-done]").count() == 2
    assert page.locator("[data-testid=step-missing]").count() == 0
    sandbox = Workspace.objects.get(owner__username="tina")
    assert sandbox.kind == "sandbox"
