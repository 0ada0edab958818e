"""Deal histories for the generator: deals that move through the pipeline over
time, with a stage history, activity on their contact and an outcome that
follows documented, learnable patterns.

``add_deal_histories(workspace=..., seed=..., anchor=...)`` runs after the
contacts are written (``generate_workspace_data`` calls it, so the demo and
every trainee's sandbox get the same deals for the same seed). Deals already
in the workspace without a history get an opening date and their first row.

Planted patterns (what the win model learns, and the prediction lesson asks
trainees to find). Each deal has a hidden quality ``q`` (normal; a little
lower for contacts who later churned). The deal starts as a lead and, after a
dwell in each stage, moves on with a probability that grows with ``q``
(``ADVANCE``, ``QUALITY_EFFECT``) or is lost; past negotiation it is won. Deals still inside
their dwell today are open. What shows in the data, never perfectly:

* Engagement: interactions with the deal's contact during the deal come at a
  rate growing with ``q`` (``TOUCH_RATE``, times e^q); praise is likelier for good
  deals, complaints about price and delays for poor ones.
* Stalls: the dwell in each stage is longer as ``q`` falls (``DWELL_DAYS``),
  (``STALL_EFFECT``), so a long time in the current stage means a weaker deal.
* Discounts: poor deals often get a deep discount (15-30%) at the proposal
  stage, good ones little or none.
* Size: a deal much larger than the account's usual deal is less likely to
  close (``SIZE_EFFECT`` on the log ratio).
* Owners: some reps close more than others (``OWNER_SKILL``, by username).

The stage a deal reached matters too (a deal in negotiation has passed three
hurdles), which is why the model is measured against the stage's own
historical win rate.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from crmcore.db import insert_instances
from crmcore.models import (
    Account,
    Contact,
    Deal,
    DealStageChange,
    Interaction,
    Product,
    Workspace,
)
from training_sandbox.generator import catalogue
from training_sandbox.generator.writer import Builder

#: Deals per contact: one for most contacts, a second for some customers.
DEAL_SHARE = 0.85
SECOND_DEAL_SHARE = 0.3
#: The open stages a deal passes in order; past the last it is won.
PATH = (Deal.Stage.LEAD, Deal.Stage.QUALIFIED, Deal.Stage.PROPOSAL, Deal.Stage.NEGOTIATION)
#: Mean dwell (days) in each stage for an average deal; times exp(-STALL_EFFECT q).
DWELL_DAYS = {
    Deal.Stage.LEAD: 10.0,
    Deal.Stage.QUALIFIED: 14.0,
    Deal.Stage.PROPOSAL: 16.0,
    Deal.Stage.NEGOTIATION: 12.0,
}
#: Log-odds of moving on from each stage for an average deal (plus 1.1 q, skill, size).
ADVANCE = {
    Deal.Stage.LEAD: 1.4,
    Deal.Stage.QUALIFIED: 1.2,
    Deal.Stage.PROPOSAL: 1.0,
    Deal.Stage.NEGOTIATION: 0.9,
}
QUALITY_EFFECT = 1.4
SIZE_EFFECT = -1.2
#: How much longer a poor deal dwells in each stage: exp(-STALL_EFFECT q).
STALL_EFFECT = 0.8
#: Interactions per day with the contact during a deal, times exp(q).
TOUCH_RATE = 0.08
OWNER_SKILL = {"alice": 0.5, "bob": 0.0, "carol": -0.2, "dave": -0.5}
#: A usual deal by segment (list price before any discount).
USUAL_AMOUNT = {"SMB": 3000.0, "Mid-market": 12000.0, "Enterprise": 40000.0}
PRODUCT_SKUS = ("PLAN-PRO", "PLAN-ENTERPRISE", "SVC-PREMIUM", "DATA-WAREHOUSE", "SVC-TRAINING")

Template = tuple[str, str, str, str]
POSITIVE: tuple[Template, ...] = (
    ("meeting", "out", "Demo of {product}", "Great demo with {first}'s team. They love {product}."),
    ("email", "in", "Next steps", "Thanks {owner}, great session. We are happy to move forward."),
    ("call", "out", "Follow-up call", "{first} is excited about {product}; great fit, thanks."),
)
NEUTRAL: tuple[Template, ...] = (
    ("email", "out", "Proposal for {product}", "Please find the proposal for {product} attached."),
    ("call", "out", "Check-in", "Called {first} about the timeline for {product}."),
    ("meeting", "out", "Requirements", "Went through the requirements of {company} for {product}."),
)
NEGATIVE: tuple[Template, ...] = (
    ("email", "in", "Price", "Disappointed with the price of {product}; frustrated by the delay."),
    ("call", "in", "Concerns", "{first} is unhappy: the rollout of {product} looks too slow."),
    ("email", "in", "On hold", "Sorry, this is a bad quarter for us. Frustrated, on hold for now."),
)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _backdate_bare_deals(workspace: Workspace, rng: random.Random, anchor: datetime) -> None:
    """Deals without a history (written before this module ran) get a plausible
    opening date (3-90 days before they closed, or before today when open) and a
    history: opened in their stage, or opened as a lead and closed when they closed."""
    bare = list(
        Deal.objects.in_workspace(workspace).filter(stage_changes__isnull=True).order_by("pk")
    )
    rows = []
    for deal in bare:
        end = deal.closed_at or anchor
        deal.created_at = end - timedelta(days=rng.uniform(3, 90))
        first = Deal.Stage.LEAD if deal.closed_at else deal.stage
        moves = [("", first, deal.created_at)]
        if deal.closed_at:
            moves.append((first, deal.stage, deal.closed_at))
        rows += [
            DealStageChange(
                workspace_id=workspace.pk,
                deal_id=deal.pk,
                from_stage=from_stage,
                to_stage=to_stage,
                changed_at=at,
            )
            for from_stage, to_stage, at in moves
        ]
    Deal.objects.bulk_update(bare, ["created_at"], batch_size=1000)
    insert_instances(DealStageChange, rows, returning=False)


class _DealWriter:
    def __init__(self, *, workspace: Workspace, seed: int, anchor: datetime) -> None:
        self.workspace_id = workspace.pk
        self.rng = random.Random(seed * 7919 + 16)
        self.anchor = anchor
        self.today: date = anchor.date()
        self.new_deal = Builder(Deal)
        self.new_interaction = Builder(Interaction)
        self.deals: list[Any] = []
        self.moves: list[list[tuple[str, str, datetime]]] = []  # per deal
        self.touches: list[Any] = []

    def moment(self, days_ago: float) -> datetime:
        return self.anchor - timedelta(days=days_ago)

    def touch(self, contact: dict[str, Any], at_days_ago: float, q: float, ctx: dict) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45 * _sigmoid(1.5 * q):
            templates = POSITIVE
        elif roll < 0.45 * _sigmoid(1.5 * q) + 0.35 * _sigmoid(-1.5 * q):
            templates = NEGATIVE
        else:
            templates = NEUTRAL
        channel, direction, subject, body = rng.choice(templates)
        self.touches.append(
            self.new_interaction(
                workspace_id=self.workspace_id,
                contact_id=contact["pk"],
                channel=channel,
                direction=direction,
                subject=subject.format(**ctx),
                body=body.format(**ctx),
                occurred_at=self.moment(at_days_ago),
                author_id=contact["owner_id"] if direction == "out" else None,
            )
        )

    def deal(
        self,
        contact: dict[str, Any],
        account: dict[str, Any],
        *,
        skill: float,
        churned: bool,
        product: Any,
    ) -> None:
        rng = self.rng
        q = rng.gauss(-0.4 if churned else 0.0, 1.0)
        usual = account["usual"]
        ratio = math.exp(rng.gauss(0.0, 0.6))
        started = rng.uniform(100, 420) if churned else rng.uniform(4, 330)
        day = started  # days ago, counting down as the deal moves
        moves: list[tuple[str, str, datetime]] = [("", Deal.Stage.LEAD, self.moment(day))]
        stage, outcome = Deal.Stage.LEAD, None
        discount = 0.0
        for position, current in enumerate(PATH):
            stage = current
            if current == Deal.Stage.PROPOSAL:
                deep = q < -0.3 and rng.random() < 0.6
                discount = rng.uniform(15, 30) if deep else rng.choice((0.0, 0.0, 5.0, 10.0))
            dwell = rng.expovariate(1.0 / (DWELL_DAYS[current] * math.exp(-STALL_EFFECT * q)))
            if day - dwell <= 0:
                break  # still in this stage today
            day -= dwell
            logit = ADVANCE[current] + QUALITY_EFFECT * q + skill + SIZE_EFFECT * math.log(ratio)
            if rng.random() >= _sigmoid(logit):
                outcome = Deal.Stage.LOST
            elif position == len(PATH) - 1:
                outcome = Deal.Stage.WON
            else:
                moves.append((current, PATH[position + 1], self.moment(day)))
                continue
            moves.append((current, outcome, self.moment(day)))
            break
        end = day if outcome else 0.0
        ctx = {
            "first": contact["first_name"],
            "owner": "the team",
            "product": product.name,
            "company": account["name"],
        }
        # Engagement: a Poisson process over the deal's open life.
        rate = TOUCH_RATE * math.exp(q)
        t = started
        for _ in range(40):
            t -= rng.expovariate(rate)
            if t <= max(end, 0.05):
                break
            self.touch(contact, t, q, ctx)
        amount = Decimal(str(round(usual * ratio * (1 - discount / 100.0), -1)))
        closed_at = self.moment(end) if outcome else None
        expected = (
            closed_at.date() if closed_at else self.today + timedelta(days=rng.randint(7, 90))
        )
        self.deals.append(
            self.new_deal(
                workspace_id=self.workspace_id,
                name=f"{account['name']}: {product.name}",
                account_id=account["pk"],
                contact_id=contact["pk"],
                stage=outcome or stage,
                amount=amount,
                discount_percent=Decimal(str(round(discount, 1))),
                expected_close=expected,
                owner_id=contact["owner_id"],
                created_at=self.moment(started),
                closed_at=closed_at,
            )
        )
        self.moves.append(moves)


@dataclass(frozen=True)
class DealHistories:
    deals: int
    interactions: int


_ONE_DAY = timedelta(days=1)


def add_deal_histories(*, workspace: Workspace, seed: int, anchor: datetime) -> DealHistories:
    """Add the workspace's deals with histories (see the module); say how many rows.

    Bulk writes: the deals, then their stage history and interactions.
    """
    writer = _DealWriter(workspace=workspace, seed=seed, anchor=anchor)
    rng = writer.rng
    _backdate_bare_deals(workspace, rng, anchor)
    usernames = dict(get_user_model().objects.values_list("pk", "username"))
    products = {
        p.sku: p
        for p in Product.objects.in_workspace(workspace)
        if p.sku in PRODUCT_SKUS or p.sku in catalogue.STANDALONE
    }
    accounts = {
        row["pk"]: row
        for row in Account.objects.in_workspace(workspace).order_by("pk").values("pk", "name")
    }
    contacts = list(
        Contact.objects.in_workspace(workspace)
        .exclude(account_id=None)
        .order_by("pk")
        .values(
            "pk", "first_name", "account_id", "owner_id", "segment", "lifecycle_stage", "created_at"
        )
    )
    for contact in contacts:
        account = accounts[contact["account_id"]]
        if "usual" not in account:
            base = USUAL_AMOUNT.get(contact["segment"], 12000.0)
            account["usual"] = base * math.exp(rng.gauss(0.0, 0.3))
        skill = OWNER_SKILL.get(usernames.get(contact["owner_id"], ""), 0.0)
        churned = contact["lifecycle_stage"] == Contact.Stage.CHURNED
        count = int(rng.random() < DEAL_SHARE)
        if contact["lifecycle_stage"] == Contact.Stage.CUSTOMER:
            count += int(rng.random() < SECOND_DEAL_SHARE)
        for _ in range(count):
            product = products[rng.choice(PRODUCT_SKUS)]
            writer.deal(contact, account, skill=skill, churned=churned, product=product)
    insert_instances(Deal, writer.deals, returning=True)
    history = [
        DealStageChange(
            workspace_id=workspace.pk,
            deal_id=deal.pk,
            from_stage=from_stage,
            to_stage=to_stage,
            changed_at=at,
        )
        for deal, moves in zip(writer.deals, writer.moves, strict=True)
        for from_stage, to_stage, at in moves
    ]
    insert_instances(DealStageChange, history, returning=False)
    insert_instances(Interaction, writer.touches, returning=False)
    # A lead whose deal began before the day it was captured was captured then: the
    # story's first touch is never before the contact existed.
    first_touch: dict[int, datetime] = {}
    for touch in writer.touches:
        if touch.occurred_at < first_touch.get(touch.contact_id, touch.occurred_at + _ONE_DAY):
            first_touch[touch.contact_id] = touch.occurred_at
    captured = [
        Contact(pk=c["pk"], created_at=first_touch[c["pk"]])
        for c in contacts
        if c["lifecycle_stage"] == Contact.Stage.LEAD
        and c["pk"] in first_touch
        and first_touch[c["pk"]] < c["created_at"]
    ]
    Contact.objects.bulk_update(captured, ["created_at"], batch_size=500)
    return DealHistories(deals=len(writer.deals), interactions=len(writer.touches))
