"""The rollout dashboard's statements, a confirmed change and the plan timeline, in Chromium."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ai_features import plans
from ai_features.models import Exposure
from crmcore import factories
from crmcore.workspaces import production_workspace
from tests.ai_features.evidence.test_evidence import _deals

PASSWORD = "pw-for-tests-only"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dashboard_statements_confirmation_and_plan_timeline(browser_page, live_server, login):
    workspace = production_workspace()
    admin = factories.StaffUserFactory(username="boss", password=PASSWORD)
    exposed = factories.UserFactory.create_batch(12)
    others = factories.UserFactory.create_batch(14)
    factories.TeamFactory(workspace=workspace, name="EMEA Sales", members=exposed)
    at = timezone.now() - dt.timedelta(days=21)
    Exposure.objects.bulk_create(
        Exposure(user=u, capability="prediction", first_at=at, rule="pilot team") for u in exposed
    )
    _deals(workspace, exposed, exposed_at=at, lift=0.4)
    _deals(workspace, others)
    plans.plan_create(
        capability="prediction", actor=admin, reason="Pilot first", pilot_teams=["EMEA Sales"]
    )

    page = browser_page
    login(page, live_server, "boss", PASSWORD)
    page.goto(f"{live_server.url}/ai/rollout/")
    card = page.locator('[data-capability="prediction"]')
    deals_won = card.locator('[data-outcome="deals_won"]')
    expect(deals_won).to_have_attribute("data-verdict", "better")
    expect(deals_won.locator('[data-testid="sentence"]')).to_have_text(
        re.compile(
            r"^Deals-won rate \+\d+\.\d points \(95% CI \+\d+\.\d to \+\d+\.\d\) "
            r"for 12 exposed reps against 14 not yet exposed, over 3 weeks\.$"
        )
    )
    expect(card.locator('[data-outcome="at_risk_retained"]')).to_contain_text("not enough data yet")
    expect(page.locator('[data-capability="sentiment"] [data-testid="sentence"]')).to_have_text(
        "Time to answer a negative or urgent message: not enough data yet "
        "(no rep has had Sentiment)."
    )

    # A phase change is shown with its impact and made only once confirmed.
    form = page.locator('[data-testid="phase-form"]')
    form.locator('select[name="capability"]').select_option("sentiment")
    form.locator('select[name="phase"]').select_option("everyone")
    form.locator('textarea[name="reason"]').fill("Everyone now")
    form.locator('button[type="submit"]').click()
    expect(page.locator('[data-testid="impact"]')).to_have_text(
        "Turns Sentiment on for 27 more users."
    )
    expect(page.locator('[data-capability="sentiment"] [data-testid="phase"]')).to_have_text("off")
    page.locator('[data-testid="confirm-button"]').click()
    expect(page.locator('[data-capability="sentiment"] [data-testid="phase"]')).to_have_text(
        "everyone"
    )
    expect(page.locator('[data-testid="changes"]').first).to_contain_text("Phase: off → everyone")

    # The plan timeline.
    card.locator('[data-testid="plan-link"]').click()
    timeline = page.locator('[data-testid="timeline"] .milestone')
    expect(timeline).to_have_count(5)
    expect(timeline.nth(0)).to_have_attribute("data-state", "current")
    expect(timeline.nth(0)).to_contain_text("Pilot teams")
    expect(timeline.nth(4)).to_contain_text("Everyone")
    expect(page.locator('[data-testid="steps"] tbody tr')).to_have_count(1)
    expect(page.locator('[data-testid="steps"]')).to_contain_text("Started: Off → Pilot teams")
