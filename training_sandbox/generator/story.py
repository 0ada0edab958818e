"""The customer story: one workspace's accounts, contacts and what happened to them.

``Story`` builds the rows (unsaved instances, written by
``training_sandbox.generator.writer``) with the planted patterns the package
docstring describes: churn risk, product chains, wording. All randomness
comes from one ``random.Random(seed)``, names from Faker seeded through
factory_boy.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import factory.random
import faker
from django.utils import timezone

from crmcore.models import (
    Account,
    Campaign,
    Contact,
    Deal,
    Interaction,
    Order,
    OrderLine,
    Product,
    Team,
    Workspace,
)
from training_sandbox.generator import catalogue, texts
from training_sandbox.generator.writer import Builder, Chunk

LEAD_SHARE = 0.15
MAX_ORDERS = 10
NAME_POOL = 400
CHURN_THRESHOLD = 0.86
CHURN_NOISE = 1.0
SEGMENT_RISK = {"SMB": 0.25, "Mid-market": 0.0, "Enterprise": -0.25}
#: From the contacts at indices 1, 151, 301..., the next one drawn at an account
#: that already has a contact is that contact entered twice: the same name and
#: phone (written another way), another email (what the Duplicates page finds).
DUPLICATE_EVERY = 150
LEAD_SOURCES = ("website", "webinar", "referral", "trade fair", "partner")

_fakers: dict[str, faker.Faker] = {}


def _faker(locale: str) -> faker.Faker:
    # Every Faker instance draws from faker's shared random, which
    # factory.random.reseed_random seeds.
    if locale not in _fakers:
        _fakers[locale] = faker.Faker(locale)
    return _fakers[locale]


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", plain.lower())


def _weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass
class Totals:
    stages: Counter[str] = field(default_factory=Counter)
    deal_stages: Counter[str] = field(default_factory=Counter)
    orders: int = 0
    order_lines: int = 0
    interactions: int = 0


class Story:
    """Builds one workspace's rows; all randomness comes from ``self.rng``."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        seed: int,
        now: datetime | None,
        users: dict[str, Any],
        teams: dict[str, Team],
        products: dict[str, Product],
    ) -> None:
        self.workspace = workspace
        self.workspace_id = workspace.pk
        self.users, self.teams, self.products = users, teams, products
        self.rng = random.Random(seed)
        factory.random.reseed_random(seed)
        moment = (now or timezone.now()).astimezone(UTC)
        self.anchor = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        self.today: date = self.anchor.date()
        self.emails: set[str] = set()
        self.accounts_by_pk: dict[Any, Account] = {}
        self.name_pools: dict[str, tuple[list[str], list[str]]] = {}
        # Builders by model (each makes instances of its model).
        self.new: dict[type[Any], Builder[Any]] = {
            model: Builder(model)
            for model in (Account, Contact, Order, OrderLine, Interaction, Deal)
        }
        self.order_seq = 0
        #: The latest contact of each account, and how many duplicates are still to plant.
        self.latest_at_account: dict[Any, Contact] = {}
        self.duplicates_due = 0

    # -- names
    def names(self, locale: str) -> tuple[list[str], list[str]]:
        """Faker's first and last names for ``locale``: a pool drawn once per run.

        Faker's weighted name lists are slow to sample; a pool of
        ``NAME_POOL`` names per locale keeps 100,000 contacts fast and varied.
        """
        if locale not in self.name_pools:
            fake = _faker(locale)
            self.name_pools[locale] = (
                [fake.first_name() for _ in range(NAME_POOL)],
                [fake.last_name() for _ in range(NAME_POOL)],
            )
        return self.name_pools[locale]

    # -- time
    def at(self, days_ago: int) -> datetime:
        """A moment during office hours ``days_ago`` days (at least one) before today."""
        minutes = self.rng.randint(8 * 60, 18 * 60)
        return self.anchor - timedelta(days=max(1, days_ago)) + timedelta(minutes=minutes)

    # -- accounts
    def accounts(self, count: int) -> list[tuple[Account, str]]:
        rng, rows = self.rng, []
        for index in range(count):
            region = _weighted(rng, catalogue.REGIONS)
            _, lasts = self.names(rng.choice(catalogue.LOCALES[region]))
            a, b = rng.choice(lasts), rng.choice(lasts)
            suffix = rng.choice(catalogue.COMPANY_SUFFIXES[region])
            company = rng.choice((f"{a} {suffix}", f"{a} & {b}", f"{a}-{b} {suffix}"))
            account = self.new[Account](
                workspace_id=self.workspace_id,
                name=company,
                domain=f"{_ascii(company)[:40] or 'company'}.example",
                industry=rng.choice(catalogue.INDUSTRIES),
                region=region,
                external_id=f"ACC-{index + 1:05d}",
            )
            rows.append((account, _weighted(rng, catalogue.SEGMENTS)))
        return rows

    # -- one contact and its history
    def contact(
        self,
        index: int,
        account: Account,
        segment: str,
        chunk: Chunk,
        totals: Totals,
    ) -> None:
        rng = self.rng
        region = account.region
        firsts, lasts = self.names(rng.choice(catalogue.LOCALES[region]))
        first, last = rng.choice(firsts), rng.choice(lasts)
        # A planted duplicate takes the name and phone of the account's latest
        # contact; every random draw still happens, so the rest is unchanged.
        if index % DUPLICATE_EVERY == 1:
            self.duplicates_due += 1
        source = self.latest_at_account.get(account.pk) if self.duplicates_due else None
        if source is not None:
            self.duplicates_due -= 1
            first, last = source.first_name, source.last_name
        email = f"{_ascii(first)}.{_ascii(last)}@{account.domain}"
        if email in self.emails:
            email = f"{_ascii(first)}.{_ascii(last)}{index + 1}@{account.domain}"
        self.emails.add(email)
        if rng.random() < 0.2:
            team = self.teams["Support"]
            owner = rng.choice((self.users["carol"], self.users["dave"]))
        elif region == "EMEA":
            team = self.teams["EMEA Sales"]
            owner = self.users["alice"] if rng.random() < 0.7 else self.users["dave"]
        else:
            team, owner = self.teams["AMER Sales"], self.users["bob"]
        phone = f"+1555{rng.randrange(10**7):07d}"
        if source is not None:
            phone = f"(555) {source.phone[5:8]}-{source.phone[8:]}"
        contact = self.new[Contact](
            workspace_id=self.workspace_id,
            first_name=first,
            last_name=last,
            email=email,
            phone=phone,
            account_id=account.pk,
            owner_id=owner.pk,
            team_id=team.pk,
            region=region,
            segment=segment,
            external_id=f"CRM-{index + 1:06d}",
        )
        chunk.contacts.append(contact)
        self.latest_at_account[account.pk] = contact
        ctx = {"first": first, "owner": owner.first_name, "company": account.name}
        if rng.random() < LEAD_SHARE:
            self._lead(contact, segment, ctx, chunk, totals)
        else:
            self._customer(contact, segment, ctx, chunk, totals)
        totals.stages[contact.lifecycle_stage] += 1

    def _interaction(
        self,
        chunk: Chunk,
        contact: Contact,
        templates: tuple[texts.Template, ...],
        days_ago: int,
        ctx: dict[str, str],
        suffix: str = "",
    ) -> None:
        channel, direction, subject, body = self.rng.choice(templates)
        values = {**ctx, "case": f"#{self.rng.randint(10000, 99999)}"}
        chunk.interactions.append(
            self.new[Interaction](
                workspace_id=self.workspace_id,
                channel=channel,
                direction=direction,
                subject=subject.format(**values),
                body=body.format(**values) + suffix,
                occurred_at=self.at(days_ago),
                author_id=contact.owner_id if direction == "out" else None,
            )
        )
        chunk.interaction_contacts.append(contact)

    def _order(
        self,
        chunk: Chunk,
        contact: Contact,
        days_ago: int,
        status: str,
        lines: list[tuple[str, int]],
    ) -> None:
        self.order_seq += 1
        order = self.new[Order](
            workspace_id=self.workspace_id,
            ordered_at=self.at(days_ago),
            status=status,
            external_id=f"ORD-{self.order_seq:07d}",
        )
        total = Decimal("0")
        for sku, quantity in lines:
            product = self.products[sku]
            total += product.price * quantity
            chunk.lines.append(
                self.new[OrderLine](
                    workspace_id=self.workspace_id,
                    product_id=product.pk,
                    quantity=quantity,
                    unit_price=product.price,
                )
            )
            chunk.line_orders.append(order)
        order.total = total
        chunk.orders.append(order)
        chunk.order_contacts.append(contact)

    def _deal(self, chunk: Chunk, contact: Contact, stage: str, sku: str, totals: Totals) -> None:
        rng = self.rng
        product = self.products[sku]
        account = self.accounts_by_pk[contact.account_id]
        months = {"SMB": 6, "Mid-market": 12, "Enterprise": 36}.get(contact.segment, 12)
        if stage in Deal.OPEN_STAGES:
            expected, closed_at = self.today + timedelta(days=rng.randint(7, 90)), None
        else:
            closed_at = self.at(rng.randint(5, 200))
            expected = closed_at.date()
        chunk.deals.append(
            self.new[Deal](
                workspace_id=self.workspace_id,
                name=f"{account.name}: {product.name}",
                account_id=account.pk,
                stage=stage,
                amount=product.price * months,
                expected_close=expected,
                owner_id=contact.owner_id,
                closed_at=closed_at,
            )
        )
        chunk.deal_contacts.append(contact)
        totals.deal_stages[stage] += 1

    def _lead(
        self,
        contact: Contact,
        segment: str,
        ctx: dict[str, str],
        chunk: Chunk,
        totals: Totals,
    ) -> None:
        rng = self.rng
        contact.lifecycle_stage = Contact.Stage.LEAD
        age = rng.randint(3, 120)
        contact.created_at = self.anchor - timedelta(days=age)  # captured as a lead then
        chain = catalogue.CHAINS[_weighted(rng, tuple(catalogue.CHAIN_WEIGHTS.items()))]
        ctx = {**ctx, "product": self.products[chain[0]].name}
        trial = rng.random() < 0.2
        if trial:
            status = rng.choice((Order.Status.PLACED, Order.Status.CANCELLED))
            self._order(chunk, contact, rng.randint(1, age), status, [(chain[0], 1)])
        for _ in range(rng.randint(1, 4)):
            self._interaction(chunk, contact, texts.LEAD_OUTREACH, rng.randint(1, age), ctx)
        if rng.random() < 0.1:
            self._interaction(chunk, contact, texts.URGENT, rng.randint(1, age), ctx)
        low, high = catalogue.SEATS_BY_SEGMENT[segment]
        contact.attributes = {
            "plan": "trial" if trial else "none",
            "seats": rng.randint(low, high),
            "source": rng.choice(LEAD_SOURCES),
        }
        if rng.random() < 0.5:
            stage = rng.choices(
                (
                    Deal.Stage.LEAD,
                    Deal.Stage.QUALIFIED,
                    Deal.Stage.PROPOSAL,
                    Deal.Stage.NEGOTIATION,
                    Deal.Stage.LOST,
                ),
                weights=(4, 3, 2, 1, 1),
            )[0]
            self._deal(chunk, contact, stage, chain[0], totals)

    def _customer(
        self,
        contact: Contact,
        segment: str,
        ctx: dict[str, str],
        chunk: Chunk,
        totals: Totals,
    ) -> None:
        rng = self.rng
        # The hidden risk and the churn label it (noisily) drives.
        z = rng.gauss(0.0, 1.0) + SEGMENT_RISK.get(segment, 0.0)
        churned = z + rng.gauss(0.0, CHURN_NOISE) > CHURN_THRESHOLD
        if churned:
            churn_lag = rng.randint(10, 300)
            start, end = churn_lag + rng.randint(120, 700), churn_lag
        else:
            churn_lag = 0
            start, end = rng.randint(150, 900), 1
            # Quiet spells: some customers, riskier ones more often, have not
            # ordered for months and are still customers.
            if rng.random() < 0.45 * _sigmoid(2.0 * z):
                end = rng.randint(20, 240)
                start = max(start, end + 120)
        contact.lifecycle_stage = Contact.Stage.CHURNED if churned else Contact.Stage.CUSTOMER

        # Orders: gaps grow with risk (g0 * e^(growth * i), with noise).
        base_gap = 100.0 * math.exp(rng.gauss(0.0, 0.45))
        growth = min(0.45, max(-0.05, 0.04 + 0.14 * z + rng.gauss(0.0, 0.08)))
        days: list[int] = []
        t, i = float(start), 0
        while t >= end:
            days.append(round(t))
            t -= max(7.0, base_gap * math.exp(growth * i) * rng.lognormvariate(0.0, 0.25))
            i += 1
        days = days[-MAX_ORDERS:]

        # Products: start at the head of a chain, usually move to its next step.
        chain_name = _weighted(rng, tuple(catalogue.CHAIN_WEIGHTS.items()))
        chain, pos = catalogue.CHAINS[chain_name], 0
        advance = min(0.8, max(0.3, 0.6 - 0.12 * z))
        bought: list[str] = []
        for k, day in enumerate(days):
            r = rng.random()
            if k == 0:
                sku = chain[0]
            elif r < advance:
                if pos < len(chain) - 1:
                    pos += 1
                else:
                    others = [name for name in catalogue.CHAINS if name != chain_name]
                    chain_name = rng.choice(others)
                    chain, pos = catalogue.CHAINS[chain_name], 0
                sku = chain[pos]
            elif r < advance + 0.15:
                sku = rng.choice(catalogue.STANDALONE)
            else:
                sku = chain[pos]
            lines = [(sku, rng.randint(2, 10) if sku == "SVC-CONSULTING" else 1)]
            if rng.random() < 0.12:
                lines.append(("ADDON-SEATS", rng.randint(5, 50)))
            last = k == len(days) - 1
            status = Order.Status.PAID
            if last and churned and rng.random() < 0.35:
                status = Order.Status.REFUNDED
            elif last and day <= 10:
                status = Order.Status.PLACED
            else:
                roll = rng.random()
                if roll < 0.03:
                    status = Order.Status.REFUNDED
                elif roll < 0.06:
                    status = Order.Status.CANCELLED
            self._order(chunk, contact, day, status, lines)
            bought.append(sku)

        def with_product(sku: str) -> dict[str, str]:
            return {**ctx, "product": self.products[sku].name}

        latest = with_product(bought[-1])
        # Neutral logistics while they were active, order confirmations.
        for _ in range(rng.randint(1, 2)):
            self._interaction(
                chunk,
                contact,
                texts.NEUTRAL,
                rng.randint(end, start),
                with_product(rng.choice(bought)),
            )
        for day, sku in zip(days, bought, strict=True):
            if rng.random() < 0.15:
                self._interaction(chunk, contact, texts.ORDER_CONFIRMATION, day, with_product(sku))
        # Praise after orders, rarer as risk grows.
        p_praise = 0.5 * _sigmoid(-1.3 * z)
        for day, sku in zip(days, bought, strict=True):
            if rng.random() < p_praise and day - 3 >= 1:
                after = day - rng.randint(3, min(20, day - 1))
                self._interaction(chunk, contact, texts.PRAISE, after, with_product(sku))
        # Complaints, more with risk; before leaving for the churned.
        complaints = min(8, _poisson(rng, 0.3 * math.exp(0.9 * z) + (0.5 if churned else 0.0)))
        for _ in range(complaints):
            if churned:
                day = churn_lag + rng.randint(0, 120)
            elif rng.random() < 0.6:
                day = rng.randint(1, 150)
            else:
                day = rng.randint(1, start)
            day = min(day, start)
            suffix = rng.choice(texts.URGENT_SUFFIX) if rng.random() < 0.35 else ""
            self._interaction(chunk, contact, texts.COMPLAINT, day, latest, suffix)
            if rng.random() < 0.5 and day > 1:
                self._interaction(chunk, contact, texts.SUPPORT_REPLY, day - 1, latest)
        # Resolved tickets: some healthy customers have tickets too.
        if rng.random() < 0.7 * _sigmoid(-z):
            self._interaction(chunk, contact, texts.RESOLVED, rng.randint(end, start), latest)
        if rng.random() < 0.08:
            self._interaction(chunk, contact, texts.URGENT, rng.randint(end, start), latest)
        if churned:
            if rng.random() < 0.5:
                self._interaction(chunk, contact, texts.CANCELLATION, churn_lag, latest)
            if rng.random() < 0.3 and churn_lag > 2:
                self._interaction(
                    chunk, contact, texts.WIN_BACK, rng.randint(1, churn_lag - 1), latest
                )

        plan = max(
            (catalogue.PLAN_OF_SKU.get(sku, "none") for sku in bought),
            key=catalogue.PLAN_RANK.__getitem__,
        )
        low, high = catalogue.SEATS_BY_SEGMENT[segment]
        since = self.today - timedelta(days=start)
        contact.attributes = {
            "plan": plan,
            "seats": rng.randint(low, high),
            "nps": min(10, max(0, round(8.2 - 1.4 * z + rng.gauss(0.0, 1.6)))),
            "customer_since": since.isoformat(),
        }
        # In the CRM since they became a customer: the profile's "Since" says the same.
        contact.created_at = self.anchor - timedelta(days=start)
        # Deals: upsells of the next product for some, lost ones for some churned.
        if churned:
            if rng.random() < 0.15:
                self._deal(chunk, contact, Deal.Stage.LOST, bought[-1], totals)
        elif rng.random() < 0.12:
            stage = rng.choice(
                (
                    Deal.Stage.QUALIFIED,
                    Deal.Stage.PROPOSAL,
                    Deal.Stage.NEGOTIATION,
                    Deal.Stage.WON,
                    Deal.Stage.WON,
                    Deal.Stage.LOST,
                )
            )
            self._deal(chunk, contact, stage, chain[min(pos + 1, len(chain) - 1)], totals)

    def campaigns(self) -> list[Campaign]:
        """Example campaigns, all drafts: a campaign is approved and sent only through the
        campaign flow, which builds and stores its messages (never "Sent" with none)."""
        admin = self.users["admin"]
        return [
            Campaign(
                workspace_id=self.workspace_id,
                name="Win back lapsed customers",
                goal=Campaign.Goal.WIN_BACK,
                audience={"lifecycle_stage": "churned"},
                subject_template="We miss you, {first_name}",
                body_template=(
                    "Hi {first_name},\n\n"
                    "[Since your last order of {last_purchase}, we have improved a lot.] "
                    "{next_product|Our Analytics add-on} might be a good fit for "
                    "{company|your team}.\n\n"
                    "Would you like a month on us to try it again?\n\n"
                    "Best regards"
                ),
                status=Campaign.Status.DRAFT,
                created_by=admin,
            ),
            Campaign(
                workspace_id=self.workspace_id,
                name="Analytics add-on for growing teams",
                goal=Campaign.Goal.CROSS_SELL,
                audience={"lifecycle_stage": "customer", "segment": "Mid-market"},
                subject_template="{first_name}, see your numbers at a glance",
                body_template=(
                    "Hi {first_name},\n\n"
                    "[As you already use {last_purchase}, you know what a clear pipeline is "
                    "worth.] The Analytics add-on turns it into dashboards "
                    "{company|your whole team} can read.\n\n"
                    "Best regards"
                ),
                status=Campaign.Status.DRAFT,
                created_by=admin,
            ),
            Campaign(
                workspace_id=self.workspace_id,
                name="Thank you, Enterprise customers",
                goal=Campaign.Goal.THANK,
                audience={"lifecycle_stage": "customer", "segment": "Enterprise"},
                subject_template="Thank you, {first_name}",
                body_template=(
                    "Hi {first_name},\n\n"
                    "Thank you for another great year together"
                    "[ and for trusting us with {last_purchase}].\n\n"
                    "Best regards"
                ),
                status=Campaign.Status.DRAFT,
                created_by=admin,
            ),
        ]
