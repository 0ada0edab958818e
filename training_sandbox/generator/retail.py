"""Transaction logs shaped like a real retailer's, for the next-need evaluation.

``retail_log(customers=..., products=..., seed=...)`` builds, deterministically
and in memory, what a shop's till or web-shop exports: one row per order line
(invoice, day, customer, product code, description, quantity, unit price),
with the traits of real retail data that a toy catalogue lacks:

* thousands of products, their popularity long-tailed (Zipf);
* most revenue from repeat purchases: about one product in six is a staple
  (paper cups, coffee beans, ...) that regular customers reorder in bulk on
  their own cycle (every 7 to 90 days, a little irregular), now and then
  skipping a cycle, and now and then switching to another product for good;
* many one-off buyers (about 45% of customers order once);
* baskets of products bought together (cups with their lids) and products
  bought after others (a starter kit, then its refills);
* returns: lines returned later on a cancellation invoice (``C`` + invoice,
  negative quantity), and whole orders cancelled before they shipped.

``write_csv`` writes a log as the CSV an order-line import reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from bisect import bisect
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

GOODS = (
    "Paper cups",
    "Cup lids",
    "Coffee beans",
    "Tea bags",
    "Sugar sticks",
    "Stirrers",
    "Napkins",
    "Paper towels",
    "Hand soap",
    "Dish soap",
    "Bin bags",
    "Cling film",
    "Foil trays",
    "Takeaway boxes",
    "Straws",
    "Milk cartons",
    "Oat milk",
    "Cocoa powder",
    "Syrup bottles",
    "Cleaning spray",
    "Gloves",
    "Aprons",
    "Labels",
    "Till rolls",
    "Carrier bags",
    "Cake boxes",
    "Sandwich wedges",
    "Salad bowls",
    "Cutlery packs",
    "Water bottles",
    "Juice bottles",
    "Biscuits",
    "Chocolate bars",
    "Crisps",
    "Muffin cases",
    "Baking paper",
    "Flour",
    "Butter",
    "Eggs",
    "Cheese slices",
    "Olive oil",
    "Salt",
    "Pepper",
    "Vinegar",
    "Ketchup",
    "Mayonnaise",
    "Mustard",
    "Honey",
    "Jam",
    "Candles",
    "Light bulbs",
    "Batteries",
    "Printer paper",
    "Pens",
    "Notebooks",
    "Sticky notes",
    "Staples",
    "Envelopes",
    "Tape",
    "Scissors",
    "Mugs",
    "Glasses",
    "Plates",
    "Trays",
    "Menu holders",
    "Chalkboards",
    "Aprons",
    "Tea towels",
    "Mop heads",
    "Buckets",
    "Sponges",
    "Scourers",
    "Degreaser",
    "Descaler",
    "Filter papers",
    "Espresso cups",
    "Teapots",
    "Milk jugs",
    "Thermometers",
)
VARIANTS = (
    "8oz",
    "12oz",
    "16oz",
    "small",
    "medium",
    "large",
    "pack of 50",
    "pack of 100",
    "pack of 500",
    "1kg",
    "5kg",
    "eco",
    "white",
    "black",
    "kraft",
    "compostable",
    "value",
    "premium",
    "bulk",
    "catering size",
    "assorted",
    "red",
    "blue",
    "green",
    "double wall",
    "single wall",
    "twin pack",
    "refill",
    "starter kit",
    "deluxe",
)
STAPLE_SHARE = 0.16
STAPLE_INTERVALS = (7, 10, 14, 21, 28, 30, 35, 45, 60, 90)
ONE_OFF_SHARE = 0.45
DAYS = 365
#: Chance, per order, that a regular customer switches one staple for another.
SWITCH_RATE = 0.04


@dataclass(frozen=True)
class RetailProduct:
    product_id: int
    code: str
    name: str
    price: float
    interval: int  # days between reorders of a staple; 0 for other products


@dataclass(frozen=True)
class RetailLine:
    """One exported order line (the fields ``next_needs.baskets_from_lines`` reads)."""

    order_key: str
    day: int  # a date ordinal
    contact_id: int
    product_id: int
    quantity: int
    unit_price: float
    cancelled: bool = False


@dataclass
class RetailLog:
    products: tuple[RetailProduct, ...]
    lines: list[RetailLine] = field(default_factory=list)

    @property
    def names(self) -> dict[int, str]:
        return {p.product_id: p.name for p in self.products}

    def summary(self) -> dict[str, float | int]:
        """Counts and shares that say how retail-like the log is."""
        bought = [x for x in self.lines if x.quantity > 0 and not x.cancelled]
        orders: dict[int, set[str]] = {}
        pairs: Counter = Counter()
        for x in bought:
            orders.setdefault(x.contact_id, set()).add(x.order_key)
        pair_orders: dict[tuple[int, int], set[str]] = {}
        for x in bought:
            pair_orders.setdefault((x.contact_id, x.product_id), set()).add(x.order_key)
        for key, keys in pair_orders.items():
            pairs[key] = len(keys)
        revenue = sum(x.quantity * x.unit_price for x in bought)
        repeat = sum(
            x.quantity * x.unit_price for x in bought if pairs[(x.contact_id, x.product_id)] > 1
        )
        return {
            "lines": len(self.lines),
            "products": len(self.products),
            "customers": len(orders),
            "one_off_share": round(
                sum(1 for o in orders.values() if len(o) == 1) / max(1, len(orders)), 3
            ),
            "repeat_revenue_share": round(repeat / revenue, 3) if revenue else 0.0,
            "return_lines": sum(1 for x in self.lines if x.quantity < 0),
            "cancelled_lines": sum(1 for x in self.lines if x.cancelled and x.quantity > 0),
        }


class _Picker:
    """Draws products by Zipf popularity."""

    def __init__(self, rng: random.Random, ids: list[int], exponent: float = 1.05) -> None:
        self.rng, self.ids = rng, ids
        self.cumulative = list(accumulate(1.0 / (rank + 1) ** exponent for rank in range(len(ids))))

    def pick(self) -> int:
        x = self.rng.random() * self.cumulative[-1]
        return self.ids[min(bisect(self.cumulative, x), len(self.ids) - 1)]


def _catalogue(rng: random.Random, count: int) -> tuple[RetailProduct, ...]:
    names = [f"{good} {variant}" for good in GOODS for variant in VARIANTS]
    rng.shuffle(names)
    while len(names) < count:  # more products than word pairs: numbered ranges
        names.extend(
            f"{name} no. {len(names) // len(GOODS) + 2}" for name in names[: count - len(names)]
        )
    products = []
    for k in range(count):
        staple = rng.random() < STAPLE_SHARE
        products.append(
            RetailProduct(
                product_id=k + 1,
                code=f"SKU{k + 1:05d}",
                name=names[k][:1].upper() + names[k][1:],
                price=round(math.exp(rng.gauss(1.2, 0.9)), 2),
                interval=rng.choice(STAPLE_INTERVALS) if staple else 0,
            )
        )
    return tuple(products)


def retail_log(
    *, customers: int = 5000, products: int = 3000, seed: int = 1, start: dt.date | None = None
) -> RetailLog:
    """A year of one retailer's order lines (deterministic for a seed)."""
    rng = random.Random(seed)
    catalogue = _catalogue(rng, products)
    first_day = (start or dt.date(2026, 1, 1)).toordinal()
    ids = [p.product_id for p in catalogue]
    rng.shuffle(ids)  # popularity rank independent of the product number
    picker = _Picker(rng, ids)
    by_id = {p.product_id: p for p in catalogue}
    staples = [p for p in ids if by_id[p].interval]
    staple_picker = _Picker(rng, staples, exponent=0.8)
    # Baskets: some products go with a partner; some lead to a follow-up next time.
    partner = {p: rng.choice(ids) for p in ids if rng.random() < 0.3}
    follow_up = {p: rng.choice(ids) for p in ids if rng.random() < 0.2}
    log = RetailLog(products=catalogue)
    invoice = 100000

    def add_order(contact_id: int, day: int, basket: dict[int, int]) -> None:
        nonlocal invoice
        invoice += 1
        key = str(invoice)
        cancelled = rng.random() < 0.02
        for product_id, quantity in basket.items():
            price = by_id[product_id].price
            log.lines.append(
                RetailLine(key, day, contact_id, product_id, quantity, price, cancelled)
            )
            if not cancelled and rng.random() < 0.03:  # returned later
                back = min(quantity, rng.randint(1, quantity))
                log.lines.append(
                    RetailLine(
                        f"C{key}",
                        day + rng.randint(1, 14),
                        contact_id,
                        product_id,
                        -back,
                        price,
                        True,
                    )
                )

    for contact_id in range(1, customers + 1):
        if rng.random() < ONE_OFF_SHARE:
            basket: dict[int, int] = {}
            for _ in range(rng.randint(1, 4)):
                basket[picker.pick()] = rng.randint(1, 3)
            add_order(contact_id, first_day + rng.randrange(DAYS), basket)
            continue
        gap = max(2.0, math.exp(rng.gauss(math.log(12), 0.5)))
        day = float(first_day + rng.randrange(150))
        cycles: dict[int, float] = {}
        due: dict[int, float] = {}

        for _ in range(rng.randint(1, 6)):
            _adopt(rng, staple_picker.pick(), by_id, cycles, due, day)
        previous: list[int] = []
        while day < first_day + DAYS:
            if cycles and rng.random() < SWITCH_RATE:  # moves to another product for good
                dropped = rng.choice(sorted(cycles))
                del cycles[dropped], due[dropped]
                _adopt(rng, staple_picker.pick(), by_id, cycles, due, day)
            basket = {}
            for p in cycles:
                if due[p] <= day + gap / 2 and rng.random() > 0.1:
                    basket[p] = rng.randint(2, 12)
                    due[p] = day + cycles[p] * math.exp(rng.gauss(0.0, 0.12))
            for _ in range(sum(rng.random() < 0.3 for _ in range(3))):  # 0.9 on average
                basket.setdefault(picker.pick(), rng.randint(1, 4))
            for p in previous:
                if p in follow_up and rng.random() < 0.4:
                    basket.setdefault(follow_up[p], rng.randint(1, 3))
            for p in list(basket):
                if p in partner and rng.random() < 0.5:
                    basket.setdefault(partner[p], basket[p])
            if basket:
                add_order(contact_id, int(day), basket)
                previous = list(basket)
            day += max(1.0, gap * math.exp(rng.gauss(0.0, 0.3)))
    return log


def _adopt(
    rng: random.Random,
    product_id: int,
    by_id: dict[int, RetailProduct],
    cycles: dict[int, float],
    due: dict[int, float],
    day: float,
) -> None:
    """A customer takes up a staple on their own cycle (its usual one, give or take)."""
    cycles[product_id] = by_id[product_id].interval * math.exp(rng.gauss(0.0, 0.25))
    due[product_id] = day + rng.random() * cycles[product_id]


def write_csv(log: RetailLog, path: str | Path) -> int:
    """The log as one CSV row per order line; returns the number of rows."""
    names = {p.product_id: p for p in log.products}
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "order_id",
                "date",
                "customer_id",
                "product_code",
                "description",
                "quantity",
                "unit_price",
            ]
        )
        for x in log.lines:
            product = names[x.product_id]
            writer.writerow(
                [
                    x.order_key,
                    dt.date.fromordinal(x.day).isoformat(),
                    f"C{x.contact_id:06d}",
                    product.code,
                    product.name,
                    x.quantity,
                    f"{x.unit_price:.2f}",
                ]
            )
    return len(log.lines)
