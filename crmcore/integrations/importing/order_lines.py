"""The order-lines writer: one CSV row per line, grouped into orders, products by code.

A row names its order (``order_id``, the order's external id), its customer,
the product's code and description, the quantity and the unit price. Lines
with the same ``order_id`` make one order; the order's date and customer are
its first line's. Products are matched by code (``sku``) and created, named
by the description, when the workspace has none with that code.

Returns: a negative quantity is a returned line, and an order whose id is
``C`` followed by a digit (``C536379``, as many billing systems mark a
cancellation) is a return whatever the sign. A return is stored as its own
order with the status "refunded" and a negative total (the money given back);
its lines keep positive quantities. A line whose sign disagrees with the rest
of its order is rejected.

Re-importing the same file changes nothing: a line matches an unmatched
stored line of its order with the same product, quantity and unit price, and
an order's total is recomputed from its lines. The writer keeps the orders
and products it has seen by key (memory grows with the number of orders and
products, not of lines); lines are written in bulk, chunk by chunk.
"""

from __future__ import annotations

import copy
import re
from collections import Counter, namedtuple
from decimal import Decimal
from typing import Any

from django.db.models import Case, DecimalField, F, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from crmcore import db
from crmcore.integrations.importing.converting import CleanRow
from crmcore.integrations.importing.results import ImportCounts, RowError
from crmcore.integrations.importing.writers import ContactChildWriter
from crmcore.models import Order, OrderLine, Product

#: An order id that marks a cancellation or return: "C" followed by a digit.
RETURN_ORDER_ID = re.compile(r"^C\d")

_ProductRow = namedtuple("_ProductRow", ["workspace_id", "sku", "name", "category", "price"])
_OrderRow = namedtuple(
    "_OrderRow",
    ["workspace_id", "contact_id", "ordered_at", "status", "total", "external_id", "created_at"],
)
_LineRow = namedtuple(
    "_LineRow", ["workspace_id", "order_id", "product_id", "quantity", "unit_price"]
)
_CENT = Decimal("0.01")


class _OrderSeen:
    """An order met in this run: its id, customer, and whether it is a return."""

    __slots__ = ("contact_id", "created", "is_return", "line", "pk")

    def __init__(self, pk: int, contact_id: int, is_return: bool, line: int, created: bool):
        self.pk = pk
        self.contact_id = contact_id
        self.is_return = is_return
        self.line = line
        self.created = created


def is_return_order(order_id: str) -> bool:
    return bool(RETURN_ORDER_ID.match(order_id))


class OrderLineWriter(ContactChildWriter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.orders: dict[str, _OrderSeen] = {}  # external id -> order
        self.products: dict[str, int] = {}  # sku -> pk
        # Stored lines of orders that existed before this run, not yet matched
        # by a row: order pk -> Counter of (product pk, quantity, unit price).
        self.pool: dict[int, Counter[tuple[int, int, Decimal]]] = {}

    # The base class's matching by keys does not apply to lines.
    def keys(self, row: CleanRow) -> list[str]:
        return []

    def lookup(self, rows: list[CleanRow]) -> dict[str, Any]:
        return {}

    def snapshot(self) -> Any:
        pool = copy.deepcopy(self.pool)
        return super().snapshot(), dict(self.orders), dict(self.products), pool

    def restore(self, state: Any) -> None:
        base, self.orders, self.products, self.pool = state
        super().restore(base)

    def write_chunk(
        self, chunk: list[CleanRow], counts: ImportCounts, errors: list[RowError]
    ) -> None:
        rows = self._check_signs(self.resolve(chunk, errors), errors)
        rows = self._orders_for(rows, errors)
        if not rows:
            return
        self._products_for(rows)
        new_lines: list[_LineRow] = []
        touched: set[int] = set()
        for row in rows:
            order = self.orders[row.values["order_id"]]
            key = (
                self.products[row.values["product_code"]],
                abs(row.values["quantity"]),
                row.values["unit_price"].quantize(_CENT),
            )
            stored = self.pool.get(order.pk)
            if stored is not None and stored[key] > 0:
                # Matched lines leave the pool, which keeps only what is unmatched.
                stored[key] -= 1
                if not stored[key]:
                    del stored[key]
                    if not stored:
                        del self.pool[order.pk]
                counts.unchanged += 1
                continue
            new_lines.append(_LineRow(self.workspace.pk, order.pk, *key))
            touched.add(order.pk)
            counts.created += 1
        db.insert(OrderLine, new_lines)
        self._totals(touched)

    def _check_signs(self, rows: list[CleanRow], errors: list[RowError]) -> list[CleanRow]:
        kept = []
        for row in rows:
            quantity, price = row.values["quantity"], row.values["unit_price"]
            if quantity == 0:
                errors.append(RowError(row.line, "quantity is 0"))
                continue
            if price < 0:
                errors.append(RowError(row.line, f"unit_price {price} is negative"))
                continue
            row.values["is_return"] = quantity < 0 or is_return_order(row.values["order_id"])
            kept.append(row)
        return kept

    def _orders_for(self, rows: list[CleanRow], errors: list[RowError]) -> list[CleanRow]:
        """Find or create the chunk's orders; reject lines that disagree with theirs."""
        unknown = {r.values["order_id"] for r in rows} - set(self.orders)
        if unknown:
            stored = Order.objects.in_workspace(self.workspace).filter(external_id__in=unknown)
            found = stored.order_by("id").values_list("pk", "external_id", "contact_id", "status")
            pending = []
            for pk, ext, contact_id, status in found:
                if ext not in self.orders:
                    self.orders[ext] = _OrderSeen(
                        pk, contact_id, status == Order.Status.REFUNDED, 0, created=False
                    )
                    self.pool[pk] = Counter()
                    pending.append(pk)
            if pending:
                stored_lines = OrderLine.objects.filter(order_id__in=pending).values_list(
                    "order_id", "product_id", "quantity", "unit_price"
                )
                for order_id, product_id, quantity, price in stored_lines:
                    self.pool[order_id][(product_id, quantity, Decimal(price).quantize(_CENT))] += 1
        kept: list[CleanRow] = []
        new: dict[str, CleanRow] = {}
        for row in rows:
            values = row.values
            order = self.orders.get(values["order_id"])
            first = new.get(values["order_id"])
            contact_id, is_return = (
                (order.contact_id, order.is_return)
                if order is not None
                else (first.values["contact_id"], first.values["is_return"])
                if first is not None
                else (values["contact_id"], values["is_return"])
            )
            if contact_id != values["contact_id"]:
                line = first.line if first is not None else order.line if order else 0
                where = f"line {line}" if line else "the CRM"
                errors.append(
                    RowError(
                        row.line,
                        f"order {values['order_id']!r} belongs to another customer "
                        f"(as {where} says)",
                    )
                )
                continue
            if is_return != values["is_return"]:
                errors.append(
                    RowError(
                        row.line,
                        f"a {'sale' if is_return else 'returned'} line in "
                        f"{'return' if is_return else 'sale'} order {values['order_id']!r}; "
                        "returns go in their own order (an id starting with C, "
                        "or negative quantities)",
                    )
                )
                continue
            if order is None and first is None:
                new[values["order_id"]] = row
            kept.append(row)
        if new:
            created_at = db.adapt_datetime(timezone.now())
            pks = db.insert(
                Order,
                [
                    _OrderRow(
                        self.workspace.pk,
                        row.values["contact_id"],
                        db.adapt_datetime(row.values["ordered_at"]),
                        Order.Status.REFUNDED if row.values["is_return"] else Order.Status.PAID,
                        Decimal(0),
                        ext,
                        created_at,
                    )
                    for ext, row in new.items()
                ],
                returning=True,
            )
            for (ext, row), pk in zip(new.items(), pks, strict=True):
                self.orders[ext] = _OrderSeen(
                    pk, row.values["contact_id"], row.values["is_return"], row.line, created=True
                )
        return kept

    def _products_for(self, rows: list[CleanRow]) -> None:
        """Match the chunk's product codes, creating the products the workspace lacks."""
        unknown = {r.values["product_code"] for r in rows} - set(self.products)
        if not unknown:
            return
        stored = Product.objects.in_workspace(self.workspace).filter(sku__in=unknown)
        self.products.update(stored.values_list("sku", "pk"))
        missing: dict[str, _ProductRow] = {}
        for row in rows:
            sku = row.values["product_code"]
            if sku in self.products or sku in missing:
                continue
            missing[sku] = _ProductRow(
                self.workspace.pk,
                sku,
                row.values.get("description") or sku,
                "",
                row.values["unit_price"].quantize(_CENT),
            )
        if missing:
            pks = db.insert(Product, list(missing.values()), returning=True)
            self.products.update(zip(missing, pks, strict=True))

    def _totals(self, order_ids: set[int]) -> None:
        """Each order's total from its lines (negative for a return)."""
        if not order_ids:
            return
        amount: DecimalField[Any, Any] = DecimalField(max_digits=12, decimal_places=2)
        line_sum = Subquery(
            OrderLine.objects.filter(order_id=OuterRef("pk"))
            .values("order_id")
            .annotate(amount=Sum(F("quantity") * F("unit_price"), output_field=amount))
            .values("amount"),
            output_field=amount,
        )
        total = Coalesce(line_sum, Value(Decimal(0)), output_field=amount)
        Order.objects.filter(pk__in=order_ids).update(
            total=Case(
                When(status=Order.Status.REFUNDED, then=-total),
                default=total,
                output_field=amount,
            )
        )
