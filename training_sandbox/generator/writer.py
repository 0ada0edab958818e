"""Writing the generator's rows: building unsaved instances, writing them, clearing.

``Builder`` makes unsaved model instances cheaply; a ``Chunk`` of them is
written parents first by ``chunk_write`` (``crmcore.db.insert_instances``:
multi-row inserts, never one query per row); ``clear_workspace_data`` deletes
a workspace's CRM records in batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.db import models, transaction
from django.db.models import Max, Min

from crmcore.db import insert_instances
from crmcore.models import (
    Account,
    Campaign,
    Contact,
    Deal,
    DealStageChange,
    Interaction,
    Order,
    OrderLine,
    Product,
    Workspace,
)

M = TypeVar("M", bound=models.Model)


class Builder(Generic[M]):
    """Makes unsaved instances of ``model`` from keyword values, cheaply.

    ``Model(**kwargs)`` resolves every keyword against the fields; passing
    the values positionally in field order (as ``Model.from_db`` does) is
    about a third faster, which counts for a million rows. Fields not given
    get their default.
    """

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.names = frozenset(f.attname for f in self.fields)
        self.static = {f.attname: f.get_default() for f in self.fields if not callable(f.default)}

    def __call__(self, **values: Any) -> M:
        if not self.names.issuperset(values):
            unknown = ", ".join(sorted(set(values) - self.names))
            raise TypeError(f"{self.model.__name__} has no field {unknown}")
        static = self.static
        return self.model(
            *[
                values[f.attname]
                if f.attname in values
                else static[f.attname]
                if f.attname in static
                else f.get_default()
                for f in self.fields
            ]
        )


@dataclass
class Chunk:
    contacts: list[Contact] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    lines: list[OrderLine] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)
    # The parent of each row above, whose primary key is known once written.
    order_contacts: list[Contact] = field(default_factory=list)
    line_orders: list[Order] = field(default_factory=list)
    interaction_contacts: list[Contact] = field(default_factory=list)
    deal_contacts: list[Contact] = field(default_factory=list)


#: The tables the generator fills, whose planner statistics it refreshes.
WRITTEN_MODELS = (
    Account,
    Product,
    Contact,
    Order,
    OrderLine,
    Interaction,
    Deal,
    DealStageChange,
    Campaign,
)


def chunk_write(chunk: Chunk) -> None:
    """Write a chunk parents first, filling in foreign keys as primary keys arrive."""
    insert_instances(Contact, chunk.contacts, returning=True)
    for order, contact in zip(chunk.orders, chunk.order_contacts, strict=True):
        order.contact_id = contact.pk
    insert_instances(Order, chunk.orders, returning=True)
    for line, order in zip(chunk.lines, chunk.line_orders, strict=True):
        line.order_id = order.pk
    insert_instances(OrderLine, chunk.lines, returning=False)
    for interaction, contact in zip(chunk.interactions, chunk.interaction_contacts, strict=True):
        interaction.contact_id = contact.pk
    insert_instances(Interaction, chunk.interactions, returning=False)
    for deal, contact in zip(chunk.deals, chunk.deal_contacts, strict=True):
        deal.contact_id = contact.pk
    insert_instances(Deal, chunk.deals, returning=False)


CLEAR_BATCH = 2000


@transaction.atomic
def clear_workspace_data(*, workspace: Workspace) -> None:
    """Delete the CRM records of ``workspace``; the workspace and its teams stay.

    Rows other apps keep about these records (scores, sentiments, ...) go
    with them through their foreign keys. Deleted in primary-key ranges of
    ``CLEAR_BATCH`` rows, so that the cascades and ``SET_NULL`` updates Django
    issues for each batch stay within the database's limit on query
    parameters (a 100,000-contact sandbox exceeded SQLite's in one go).
    """
    for model in (OrderLine, Order, Interaction, Deal, Campaign, Contact, Account, Product):
        rows = model.objects.in_workspace(workspace)
        bounds = rows.aggregate(low=Min("pk"), high=Max("pk"))
        if bounds["low"] is None:
            continue
        for start in range(bounds["low"], bounds["high"] + 1, CLEAR_BATCH):
            rows.filter(pk__gte=start, pk__lt=start + CLEAR_BATCH).delete()
