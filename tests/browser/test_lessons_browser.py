"""The Sentiment and Prediction lessons, passed as a new trainee would, in headless Chromium.

A user without staff rights creates a sandbox from the header (its AI is
prepared without anyone's help), starts the lesson, does its steps on the
CRM's own pages, answers the knowledge check and sees the lesson pass. The
test reads the database only to pick which customer to open, as a trainee
would pick one from the list.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ai_features.capabilities.prediction.models import ContactScore, DealScore
from ai_features.capabilities.sentiment.models import InteractionSentiment
from crmcore import factories
from crmcore.models import Contact, Workspace
from training_sandbox.lessons import get_lesson

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"
SIZE = 100
PREPARE_TIMEOUT_MS = 180_000


@pytest.fixture
def trainee_in_sandbox(browser_page, live_server, login, settings):
    """A trainee without staff rights, signed in, in a sandbox made from the header."""
    settings.TRAINING_SANDBOX_DEFAULT_CONTACTS = SIZE
    factories.UserFactory(username="tess", password=PASSWORD, is_staff=False)
    page = browser_page
    login(page, live_server, "tess", PASSWORD)
    page.click("[data-nav-group=Training] > summary")  # the header's Training menu
    page.click("[data-nav=sandbox-enter]")
    # Without a broker the AI is prepared before the page answers: allow for it
    page.click("[data-testid=create-sandbox]", no_wait_after=True)
    page.wait_for_url(f"{live_server.url}/sandbox/lessons/", timeout=PREPARE_TIMEOUT_MS)
    page.goto(f"{live_server.url}/sandbox/")
    assert "The AI is ready" in page.content()
    return page, Workspace.objects.get(owner__username="tess")


def _start(page, live_server, slug: str) -> None:
    page.goto(f"{live_server.url}/sandbox/lessons/{slug}/")
    page.click("[data-testid=lesson-start]")


def _check_answer_and_pass(page, live_server, slug: str) -> None:
    page.goto(f"{live_server.url}/sandbox/lessons/{slug}/")
    page.click("[data-testid=lesson-check]")
    steps = get_lesson(slug).steps
    assert page.locator("[data-testid=step-done]").count() == len(steps)
    assert page.locator("[data-testid=step-missing]").count() == 0
    for question in get_lesson(slug).questions:
        page.check(f"fieldset[data-question={question.key}] input[value='{question.answer}']")
    page.click("[data-testid=lesson-answer]")
    assert page.locator("[data-testid=lesson-status]").inner_text().startswith("Passed")


def test_prediction_lesson__trainee_through_the_pages__passes(trainee_in_sandbox, live_server):
    page, sandbox = trainee_in_sandbox
    _start(page, live_server, "prediction-basics")

    # Step 1: a scored customer's page shows the risk and the factors behind it
    scored = ContactScore.objects.filter(workspace=sandbox).order_by("-probability").first()
    assert scored is not None, "the sandbox's customers were not scored"
    page.goto(f"{live_server.url}/contacts/{scored.contact_id}/")
    panel = page.locator("[data-testid=prediction-panel]")
    assert panel.locator("[data-testid=churn-risk]").inner_text() == (
        f"{round(scored.probability * 100)}%"
    )
    assert "Raising the risk" in panel.inner_text()

    # Step 2: dismiss the suggested action with a reason
    panel.locator("[data-testid=next-action-reason]").fill("Renewed by phone yesterday")
    panel.locator("button[value=dismissed]").first.click()
    page.wait_for_load_state()

    # Step 3: an open deal's page shows its chance to win and the factors behind it
    scored_deal = DealScore.objects.filter(workspace=sandbox).order_by("probability").first()
    assert scored_deal is not None, "the sandbox's open deals were not scored"
    page.goto(f"{live_server.url}/deals/{scored_deal.deal_id}/")
    assert f"{round(scored_deal.probability * 100)}%" in page.content()

    # Step 4: move an open deal along the pipeline, from its card's stage menu
    page.goto(f"{live_server.url}/deals/")
    card = page.locator("section[data-stage=qualified] article.deal-card").first
    deal_id = card.get_attribute("data-deal")
    card.locator("select[name=stage]").select_option("proposal")
    card.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(f"section[data-stage=proposal] [data-deal='{deal_id}']").count() == 1

    _check_answer_and_pass(page, live_server, "prediction-basics")


def test_sentiment_lesson__trainee_through_the_pages__passes(trainee_in_sandbox, live_server):
    page, sandbox = trainee_in_sandbox
    _start(page, live_server, "sentiment-basics")

    # Step 1: a customer's page shows each interaction's tone
    analysed = (
        InteractionSentiment.objects.filter(workspace=sandbox)
        .values_list("interaction__contact_id", flat=True)
        .order_by("interaction__contact_id")
        .first()
    )
    assert analysed is not None, "the sandbox's interactions were not analysed"
    page.goto(f"{live_server.url}/contacts/{analysed}/")
    panel = page.locator("[data-testid=sentiment-panel]")
    assert panel.locator("[data-testid=tone]").count() >= 1

    # Step 2: correct two tones (pick another tone than the one read)
    for _ in range(2):
        row = page.locator("[data-testid=sentiment-panel] li[data-interaction]").first
        current = row.locator("[data-testid=tone]").inner_text().strip()
        options = row.locator("select[name=tone] option").all_inner_texts()
        row.locator("select[name=tone]").select_option(next(o for o in options if o != current))
        row.locator("button[type=submit]").click()
        page.wait_for_load_state()

    _check_answer_and_pass(page, live_server, "sentiment-basics")


def _new_campaign(page, live_server, *, name: str, goal: str, stage: str, body: str) -> None:
    """Write a campaign in the one Campaigns area, from the header."""
    page.click("[data-nav=campaigns]")
    page.click("text=New campaign")
    page.fill("input[name=name]", name)
    page.select_option("select[name=goal]", goal)
    page.select_option("select[name=lifecycle_stage]", stage)
    page.fill("input[name=subject_template]", "{first_name}, we miss you")
    page.fill("textarea[name=body_template]", body)
    page.click("form.builder-form button[type=submit]")


def _build_and_approve(page) -> None:
    page.click("text=Build messages")
    page.reload()  # without a broker the messages are built before the page answers
    expect(page.locator("[data-testid=message-counts]")).to_contain_text(" drafts")
    expect(page.locator("[data-testid=failing-count]")).to_have_count(0)
    page.click("button:has-text('Approve')")
    expect(page.locator("[data-testid=campaign-status]")).to_have_text("Approved")


def test_personalization_lesson__trainee_through_the_pages__passes(trainee_in_sandbox, live_server):
    page, sandbox = trainee_in_sandbox
    _start(page, live_server, "personalization-basics")

    # Step 1: a win-back campaign for the sandbox's churned customers
    churned = Contact.objects.filter(workspace=sandbox, lifecycle_stage="churned").count()
    assert churned > 0, "the sandbox has no churned customer to win back"
    _new_campaign(
        page,
        live_server,
        name="Come back",
        goal="win_back",
        stage="churned",
        body="Hi {first_name},\n\nWe would love to see you again.\n\nAll the best",
    )
    assert page.locator("[data-testid=mode]").inner_text() == "Personalized"
    assert page.locator("[data-testid=audience-size]").inner_text() == str(churned)

    # Step 2: build the messages, read them with their facts, approve
    _build_and_approve(page)

    _check_answer_and_pass(page, live_server, "personalization-basics")
