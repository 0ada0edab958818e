"""Contacts with a known history for the personalization tests (built with crmcore.factories)."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.utils import timezone

from ai_features.capabilities.prediction.models import (
    ContactNextNeeds,
    ContactScore,
    ModelVersion,
)
from ai_features.capabilities.sentiment.models import InteractionSentiment
from crmcore import factories
from crmcore.models import Interaction


def at_hour(days_ago: int, hour: int) -> dt.datetime:
    """A moment ``days_ago`` days back at ``hour`` o'clock local time."""
    now = timezone.localtime()
    return (now - dt.timedelta(days=days_ago)).replace(
        hour=hour, minute=15, second=0, microsecond=0
    )


def order_of(contact, product, *, days_ago: int, status: str = "paid"):
    order = factories.OrderFactory(
        workspace=contact.workspace,
        contact=contact,
        ordered_at=timezone.now() - dt.timedelta(days=days_ago),
        status=status,
    )
    factories.OrderLineFactory(workspace=contact.workspace, order=order, product=product)
    return order


def inbound(contact, *, channel: str, days_ago: int, hour: int, subject: str = "A question"):
    return factories.InteractionFactory(
        workspace=contact.workspace,
        contact=contact,
        channel=channel,
        direction=Interaction.Direction.INBOUND,
        subject=subject,
        occurred_at=at_hour(days_ago, hour),
    )


def tone_of(interaction, tone: str, polarity: float = 0.0) -> InteractionSentiment:
    return InteractionSentiment.objects.create(
        workspace=interaction.workspace,
        interaction=interaction,
        contact=interaction.contact,
        occurred_at=interaction.occurred_at,
        content_hash=hashlib.sha256(interaction.body.encode()).hexdigest(),
        polarity=polarity,
        subjectivity=0.5,
        tone=tone,
    )


def score_of(contact, *, band: str, next_product: str, probability: float = 0.5) -> ContactScore:
    version = ModelVersion.objects.filter(workspace=contact.workspace, is_live=True).first()
    if version is None:
        version = ModelVersion.objects.create(
            workspace=contact.workspace,
            number=1,
            status=ModelVersion.Status.PUBLISHED,
            is_live=True,
            as_of=timezone.now(),
        )
    # Next needs are stored by prediction's next-needs job, for every contact.
    ContactNextNeeds.objects.update_or_create(
        workspace=contact.workspace,
        contact=contact,
        defaults={
            "needs": [
                {
                    "product_id": 1,
                    "product": next_product,
                    "kind": "sequence",
                    "reason": "bought next by customers with the same purchases",
                    "score": 0.9,
                }
            ]
        },
    )
    return ContactScore.objects.create(
        workspace=contact.workspace,
        contact=contact,
        model_version=version,
        probability=probability,
        log_odds=0.0,
        band=band,
        next_products=[{"id": 1, "name": next_product, "score": 0.9}],
    )


def two_customers(workspace):
    """Ada: Analytics Pro 64 days ago, writes by email mornings, frustrated lately, next Data
    Connector. Ben: Starter 10 days ago, calls afternoons, positive, next Analytics Pro."""
    analytics = factories.ProductFactory(workspace=workspace, name="Analytics Pro")
    starter = factories.ProductFactory(workspace=workspace, name="Starter")
    ada = factories.ContactFactory(
        workspace=workspace, first_name="Ada", last_name="Lovelace", segment="Enterprise"
    )
    ben = factories.ContactFactory(
        workspace=workspace, first_name="Ben", last_name="Okri", segment="SMB"
    )
    order_of(ada, starter, days_ago=200)
    order_of(ada, analytics, days_ago=64)
    order_of(ben, starter, days_ago=10)
    inbound(ada, channel="email", days_ago=30, hour=9, subject="Setup")
    inbound(ada, channel="email", days_ago=20, hour=9, subject="Invoice")
    ada_complaint = inbound(ada, channel="ticket", days_ago=3, hour=16, subject="Export broken")
    ben_calls = [
        inbound(ben, channel="call", days_ago=d, hour=14, subject=f"Call {d}") for d in (9, 5, 2)
    ]
    tone_of(ada_complaint, "frustrated", -0.6)
    for call in ben_calls:
        tone_of(call, "positive", 0.5)
    score_of(ada, band="high", next_product="Data Connector", probability=0.7)
    score_of(ben, band="low", next_product="Analytics Pro", probability=0.1)
    return ada, ben
