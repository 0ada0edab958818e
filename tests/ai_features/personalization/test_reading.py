"""What a customer reads: the last order said once, no apology for an old or answered complaint."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ai_features.capabilities.personalization import selectors
from ai_features.capabilities.personalization.facts import Access
from crmcore import factories
from tests.ai_features.personalization.helpers import inbound, order_of, tone_of

ALL = Access(personalization=True, prediction=True, sentiment=True)
BODY = (
    "Hi {first_name},\n\n[Since your last order of {last_purchase}, we have improved a lot.]"
    "\n\nBest regards"
)


def _message(workspace, contact, body=BODY):
    campaign = factories.CampaignFactory(
        workspace=workspace, goal="win_back", subject_template="Hi", body_template=body
    )
    return selectors.compose_for(
        workspace=workspace, campaign=campaign, contact_ids=[contact.pk], access=ALL
    )[0]


def test_win_back__template_speaks_of_the_order__note_does_not_repeat_it(workspace):
    cara = factories.ContactFactory(workspace=workspace, first_name="Cara")
    order_of(cara, factories.ProductFactory(workspace=workspace, name="Starter"), days_ago=90)
    message = _message(workspace, cara)
    assert message.body.count("Starter") == 1
    assert "We would love to welcome you back." in message.body
    plain = _message(workspace, cara, body="Hi {first_name},\n\nBest regards")
    assert "since your order of Starter 90 days ago" in plain.body


def test_campaign__complaint_older_than_30_days__no_apology(workspace):
    cara = factories.ContactFactory(workspace=workspace, first_name="Cara")
    tone_of(inbound(cara, channel="ticket", days_ago=96, hour=9, subject="Broken"), "frustrated")
    assert "sorry" not in _message(workspace, cara).body


def test_campaign__recent_complaint_answered_since__no_apology(workspace):
    cara = factories.ContactFactory(workspace=workspace, first_name="Cara")
    tone_of(inbound(cara, channel="ticket", days_ago=5, hour=9, subject="Broken"), "frustrated")
    assert "sorry" in _message(workspace, cara).body
    factories.InteractionFactory(
        workspace=workspace,
        contact=cara,
        channel="email",
        direction="out",
        occurred_at=timezone.now() - dt.timedelta(days=4),
    )
    assert "sorry" not in _message(workspace, cara).body
