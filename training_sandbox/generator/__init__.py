"""The deterministic fake-data generator behind the demo and every sandbox.

``generate_workspace_data(workspace=..., contacts=N, seed=S)`` fills one
workspace with accounts, contacts, products, orders, interactions, deals and
campaigns; ``clear_workspace_data(workspace=...)`` empties it again. The same
seed gives the same data: names come from Faker seeded through factory_boy
(``factory.random.reseed_random``), everything else from one
``random.Random(seed)``, and dates count back from today's midnight (or the
``now`` passed in). Rows are built as plain model instances and written in
chunks of ``CHUNK_SIZE`` contacts by ``crmcore.db.insert_instances`` (multi-row inserts,
several times faster than ``bulk_create``), never one query per row.

Planted patterns (what the prediction, sentiment and personalization
capabilities learn, and what lessons ask trainees to find):

* Churn. Every customer has a hidden risk ``z`` (normal, a little higher for
  SMB, lower for Enterprise). The churn label is ``z`` plus noise above a
  threshold, so about 29% of customers (about 25% of all contacts) are
  ``churned``. Risk shows in the data, never perfectly: the gaps between
  orders grow with ``z``; churned customers stopped ordering 45-300 days ago
  (a large recency), often with a refunded last order; complaints and
  tickets come at a rate growing with ``z``, and for churned customers they
  cluster in the months before they left, followed by a cancellation note.
  Praise becomes rarer as ``z`` grows, and the ``nps`` attribute falls with
  it. At-risk customers who have not (yet) churned look much the same, and
  some healthy ones have long ordering cycles or a resolved ticket: a model
  on recency, frequency, gap trend, ticket counts and negative wording
  separates churned from active customers well (AUC about 0.9), not
  perfectly.
* Product sequences. Products form chains (see ``catalogue.CHAINS``):
  Starter plan -> Pro plan -> Analytics add-on -> Enterprise plan;
  Onboarding package -> Training workshop -> Premium support; Data import ->
  Integration pack -> Warehouse connector. A customer starts at the head of
  one chain and each later order most often buys the next product of it
  (otherwise a renewal or a stand-alone product), so who bought X tends to
  buy Y next. Riskier customers move up their chain less often.
* Wording. Interactions tell each customer's story (``texts``): complaints
  ("frustrated", "still broken", "refund") around problems, urgent wording
  ("asap", "urgent", "immediately") with some of them, praise ("love",
  "great", "thanks") around successful orders, neutral logistics otherwise.
  Channels are email, call, meeting, chat, ticket and note; directions in
  and out (outbound ones are authored by the contact's owner).
* Deals: most contacts have a deal with a stage history whose outcome follows
  engagement, stalls, discounts, size and the owner (``generator.deals``).
* Duplicates: one contact in 150 (the first drawn at an account that has a
  contact already, from indices 1, 151, ...) is that contact entered again:
  same name and account, the same phone written another way, another email
  (``story.DUPLICATE_EVERY``). A sandbox has one to find and merge from its
  first few contacts.
* Leads: about 15% of contacts, recent, with prospecting interactions, at
  most one trial order, and most of the open deals.

Every workspace gets the teams "EMEA Sales", "AMER Sales" and "Support" with
the global demo users as members (alice: EMEA Sales, bob: AMER Sales,
carol: Support, dave: EMEA Sales and Support; admin is staff). Contacts are
owned by those users: EMEA contacts by EMEA Sales, AMER and APAC ones by AMER
Sales, one in five by Support whatever their region.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from crmcore.db import insert_instances, planner_statistics_refresh
from crmcore.models import Account, Campaign, Contact, Deal, Team, Workspace
from training_sandbox.generator.deals import add_deal_histories
from training_sandbox.generator.demo import ensure_demo_teams, ensure_demo_users, ensure_products
from training_sandbox.generator.story import Story, Totals
from training_sandbox.generator.writer import (
    WRITTEN_MODELS,
    Chunk,
    chunk_write,
    clear_workspace_data,
)

__all__ = [
    "CHUNK_SIZE",
    "GenerationSummary",
    "clear_workspace_data",
    "ensure_demo_teams",
    "ensure_demo_users",
    "ensure_products",
    "generate_workspace_data",
]

CHUNK_SIZE = 1000

Progress = Callable[[int], Any] | Any


@dataclass(frozen=True)
class GenerationSummary:
    """What one ``generate_workspace_data`` call wrote."""

    workspace_id: int
    seed: int
    contacts: int
    leads: int
    customers: int
    churned: int
    accounts: int
    products: int
    orders: int
    order_lines: int
    interactions: int
    deals: int
    campaigns: int
    teams: int

    @property
    def rows(self) -> int:
        """All rows written (teams and products that existed already excluded)."""
        return (
            self.contacts
            + self.accounts
            + self.products
            + self.orders
            + self.order_lines
            + self.interactions
            + self.deals
            + self.campaigns
        )


def _report(progress: Progress | None, done: int) -> None:
    if progress is None:
        return
    if hasattr(progress, "update"):
        progress.update(done)
    else:
        progress(done)


@transaction.atomic
def generate_workspace_data(
    *,
    workspace: Workspace,
    contacts: int,
    seed: int,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> GenerationSummary:
    """Fill ``workspace`` (which must have no contacts yet) with ``contacts`` contacts.

    ``progress`` is a callable or a tqdm bar; it receives the number of
    contacts written after each chunk. ``now`` anchors the dates (default:
    now); data generated the same day with the same seed is identical.
    """
    if contacts < 0:
        raise ValueError("contacts must be zero or more")
    if Contact.objects.in_workspace(workspace).exists():
        raise ValueError(f"Workspace {workspace.pk} already has contacts; clear it first")
    users = ensure_demo_users()
    teams_before = Team.objects.in_workspace(workspace).count()
    teams = ensure_demo_teams(workspace=workspace, users=users)
    products, products_created = ensure_products(workspace=workspace)
    gen = Story(
        workspace=workspace, seed=seed, now=now, users=users, teams=teams, products=products
    )

    account_rows = gen.accounts(max(1, math.ceil(contacts / 3)) if contacts else 0)
    insert_instances(Account, [account for account, _ in account_rows], returning=True)
    gen.accounts_by_pk = {account.pk: account for account, _ in account_rows}

    totals, deals, last_chunk = Totals(), 0, Chunk()
    for begin in range(0, contacts, CHUNK_SIZE):
        chunk = Chunk()
        for index in range(begin, min(begin + CHUNK_SIZE, contacts)):
            account, segment = gen.rng.choice(account_rows)
            gen.contact(index, account, segment, chunk, totals)
        chunk_write(chunk)
        totals.orders += len(chunk.orders)
        totals.order_lines += len(chunk.lines)
        totals.interactions += len(chunk.interactions)
        deals += len(chunk.deals)
        last_chunk = chunk
        _report(progress, len(chunk.contacts))

    # Some deals in every stage, however few contacts.
    if last_chunk.contacts:
        extra = Chunk()
        for stage in Deal.Stage.values:
            if totals.deal_stages[stage] == 0:
                contact = gen.rng.choice(last_chunk.contacts)
                gen._deal(extra, contact, stage, "PLAN-PRO", totals)
        for deal, contact in zip(extra.deals, extra.deal_contacts, strict=True):
            deal.contact_id = contact.pk
        Deal.objects.bulk_create(extra.deals)
        deals += len(extra.deals)
    # Deals with stage histories and planted outcomes (``generator.deals``).
    added = add_deal_histories(workspace=workspace, seed=seed, anchor=gen.anchor)
    deals += added.deals
    totals.interactions += added.interactions

    campaigns = gen.campaigns() if contacts else []
    Campaign.objects.bulk_create(campaigns)
    planner_statistics_refresh(models=WRITTEN_MODELS)
    return GenerationSummary(
        workspace_id=workspace.pk,
        seed=seed,
        contacts=contacts,
        leads=totals.stages[Contact.Stage.LEAD],
        customers=totals.stages[Contact.Stage.CUSTOMER],
        churned=totals.stages[Contact.Stage.CHURNED],
        accounts=len(account_rows),
        products=products_created,
        orders=totals.orders,
        order_lines=totals.order_lines,
        interactions=totals.interactions,
        deals=deals,
        campaigns=len(campaigns),
        teams=Team.objects.in_workspace(workspace).count() - teams_before,
    )
