"""Small synthetic churn histories for the prediction tests (built with crmcore.factories)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from crmcore import factories
from crmcore.models import Contact, Interaction, Order

CHAIN = ("Starter", "Pro", "Analytics add-on")


def make_products(workspace):
    return [
        factories.ProductFactory(workspace=workspace, sku=f"P-{name}", name=name) for name in CHAIN
    ]


def make_history(workspace, *, customers: int = 30, churned: int = 30, seed: int = 1):
    """Customers order often and recently; churned ones stopped long ago, after
    refunds and tickets. Each buys the product chain in order. Returns contacts."""
    rng = random.Random(seed)
    now = timezone.now()
    products = make_products(workspace)
    contacts = []
    for k in range(customers + churned):
        is_churned = k >= customers
        contact = factories.ContactFactory(
            workspace=workspace,
            account=None,
            lifecycle_stage=Contact.Stage.CHURNED if is_churned else Contact.Stage.CUSTOMER,
            region=rng.choice(["EMEA", "AMER"]),
            segment=rng.choice(["SMB", "Enterprise"]),
            attributes={"seats": rng.randint(1, 50), "plan": rng.choice(["basic", "plus"])},
        )
        last = rng.randint(200, 400) if is_churned else rng.randint(35, 60)
        gap = rng.randint(50, 90) if is_churned else rng.randint(20, 35)
        for n in range(3):
            order = factories.OrderFactory(
                workspace=workspace,
                contact=contact,
                ordered_at=now - dt.timedelta(days=last + gap * n),
                status=Order.Status.REFUNDED if is_churned and n == 0 else Order.Status.PAID,
                total=Decimal("100.00"),
            )
            product = products[(2 - n) if rng.random() < 0.9 else rng.randrange(3)]
            factories.OrderLineFactory(workspace=workspace, order=order, product=product)
        if is_churned:
            for _ in range(2):
                factories.InteractionFactory(
                    workspace=workspace,
                    contact=contact,
                    channel=Interaction.Channel.TICKET,
                    occurred_at=now - dt.timedelta(days=last + rng.randint(1, 20)),
                )
        contacts.append(contact)
    return contacts
