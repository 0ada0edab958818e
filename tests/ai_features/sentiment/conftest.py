from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ai_features.capabilities.sentiment.artifacts import cache_clear
from crmcore import factories


@pytest.fixture(autouse=True)
def _sentiment_storage(settings, tmp_path):
    """Model artifacts go to a temporary media root; the per-process cache starts empty."""
    settings.MEDIA_ROOT = tmp_path / "media"
    cache_clear()
    yield
    cache_clear()


@pytest.fixture
def sentiment_on(enable_capability):
    return enable_capability("sentiment")


@pytest.fixture
def contact_with_history(workspace):
    """A contact whose tone went from warm to cold over eight interactions."""

    def make(bodies: list[str], *, workspace=workspace):
        contact = factories.ContactFactory(workspace=workspace, first_name="Mia", last_name="Berg")
        start = timezone.now() - dt.timedelta(days=len(bodies) + 1)
        interactions = [
            factories.InteractionFactory(
                workspace=workspace,
                contact=contact,
                subject="",
                body=body,
                occurred_at=start + dt.timedelta(days=i),
            )
            for i, body in enumerate(bodies)
        ]
        return contact, interactions

    return make


WARM = [
    "Thanks, the onboarding was excellent and the team is happy.",
    "Great work on the migration, everything looks good.",
    "We love the new dashboard, brilliant job.",
    "Really pleased with the support this month, thank you.",
    "The workshop was wonderful and very useful.",
]
COLD = [
    "The report is wrong and the export is broken.",
    "Terrible experience with the upgrade, nothing works.",
    "Bad service, the invoice is wrong and we are very unhappy.",
]
