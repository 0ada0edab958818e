"""Next needs: what each contact is likely to buy next, and why.

Split from ``training`` (the churn model) so that the next-need model, its
evaluation and its storage live together.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

from django.utils import timezone

from crmcore.models import Order, OrderLine, Product, Workspace


@dataclass
class NextProductModel:
    """The next-product model before :class:`NextNeedModel` (transitions between first
    purchases, co-occurrence, popularity). Model versions trained before next needs
    hold one in their artifact: kept so that they still load. No longer fitted."""

    transitions: dict[int, dict[int, float]] = field(default_factory=dict)
    cooccurrence: dict[int, dict[int, float]] = field(default_factory=dict)
    popularity: dict[int, float] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)


# ---------------------------------------------------------------- next needs
#
# A purchase history is each contact's baskets (orders) in date order. Returns
# (lines with a quantity of 0 or less) and cancelled or refunded orders are not
# purchases. Every probability below is "the next order holds this product".

REORDER, SEQUENCE, TOGETHER, POPULAR = "reorder", "sequence", "together", "popular"
KINDS = (REORDER, SEQUENCE, TOGETHER, POPULAR)
NOT_PURCHASES = (Order.Status.CANCELLED, Order.Status.REFUNDED)
#: Links kept per product (transitions, baskets): the strongest ones.
MAX_LINKS = 30
#: Products considered from popularity alone.
POPULAR_CANDIDATES = 50
#: Baskets (most recent first) whose products suggest what goes with them.
RECENT_BASKETS = 3
#: Weight of "bought with" against "bought after" (a basket partner is a weaker
#: hint of the next order than what usually comes next).
TOGETHER_WEIGHT = 0.5
#: "Often bought after/with" from this share on; below, the count of customers or orders.
OFTEN = 0.3
#: Past this many of the customer's own intervals a reorder is overdue, not just due.
OVERDUE = 1.3
#: Overdue by this many of the customer's own intervals: they no longer buy it on a cycle.
LAPSED = 3.0


@dataclass(frozen=True)
class Basket:
    """One order of a contact: its day (a date ordinal) and the products bought."""

    day: int
    products: frozenset[int]


History = list[Basket]


@dataclass(frozen=True)
class Need:
    """One recommended product, its score, which evidence won and why, in words."""

    product_id: int
    score: float
    kind: str
    reason: str


@dataclass(frozen=True)
class PurchaseLine:
    """A transaction line as other systems export it (see ``baskets_from_lines``)."""

    contact_id: int
    order_key: str
    day: int
    product_id: int
    quantity: int
    cancelled: bool = False


def baskets_from_lines(lines: Iterable[PurchaseLine]) -> dict[int, History]:
    """Contact -> baskets in date order, from transaction lines.

    A line with a quantity of 0 or less (a return) or on a cancelled order is
    not a purchase; an order left with no purchase is no basket."""
    orders: dict[tuple[int, str], tuple[int, set[int]]] = {}
    for line in lines:
        if line.quantity <= 0 or line.cancelled:
            continue
        key = (line.contact_id, line.order_key)
        if key not in orders:
            orders[key] = (line.day, set())
        orders[key][1].add(line.product_id)
    histories: dict[int, History] = defaultdict(list)
    for (contact_id, _), (day, products) in sorted(
        orders.items(), key=lambda item: (item[0][0], item[1][0], item[0][1])
    ):
        histories[contact_id].append(Basket(day, frozenset(products)))
    return dict(histories)


def purchase_histories(
    *, workspace: Workspace, as_of: dt.datetime | None = None, id_range=None
) -> dict[int, History]:
    """Each contact's baskets in date order (one query).

    Cancelled and refunded orders and lines of no positive quantity are left out."""
    qs = (
        OrderLine.objects.filter(workspace_id=workspace.pk, order__workspace_id=workspace.pk)
        .exclude(order__status__in=NOT_PURCHASES)
        .filter(quantity__gt=0)
    )
    if as_of is not None:
        qs = qs.filter(order__ordered_at__lt=as_of)
    if id_range is not None:
        qs = qs.filter(order__contact_id__gte=id_range[0], order__contact_id__lte=id_range[1])
    rows = qs.order_by("order__contact_id", "order__ordered_at", "order_id").values_list(
        "order__contact_id", "order_id", "order__ordered_at", "product_id"
    )
    histories: dict[int, History] = {}
    for contact_id, lines in groupby(rows.iterator(chunk_size=5000), key=itemgetter(0)):
        baskets: History = []
        for _, group in groupby(lines, key=itemgetter(1)):
            items = list(group)
            baskets.append(Basket(_day(items[0][2]), frozenset(product for *_, product in items)))
        histories[contact_id] = baskets
    return histories


def _day(moment: dt.datetime | dt.date) -> int:
    if isinstance(moment, dt.datetime):
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return moment.date().toordinal()
    return moment.toordinal()


def _median(values: list[int]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _top(counter: Counter, limit: int = MAX_LINKS) -> dict[int, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])


def _share(rate: float) -> str:
    return f"{round(100 * rate)}%"


def _days(n: float) -> str:
    n = round(n)
    return f"{n} day{'' if n == 1 else 's'}"


#: Buckets of "how due" (days since the last purchase / the customer's own
#: interval) and of "how regular" (share of the customer's orders holding it).
DUE_EDGES = (0.2, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0)
SHARE_EDGES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
#: Weight of a bucket's own counts against its "how due" row (smoothing).
CELL_PRIOR = 5.0


def _bucket(value: float, edges: tuple[float, ...]) -> int:
    return bisect_right(edges, value)


@dataclass
class _Owned:
    """What one customer bought of one product: orders, first and last day, gaps."""

    orders: int = 0
    first: int = 0
    last: int = 0
    gaps: list[int] = field(default_factory=list)

    def add(self, day: int) -> None:
        if not self.orders:
            self.first = day
        elif day > self.last:
            self.gaps.append(day - self.last)
        self.orders += 1
        self.last = day

    @property
    def days(self) -> int:
        return len(self.gaps) + 1 if self.orders else 0

    @property
    def every(self) -> float:
        """The customer's own usual interval between purchases: the median gap in days
        (a skipped cycle does not stretch it); 0 when bought on one day only."""
        return _median(self.gaps) if self.gaps else 0.0


def _owned(history: History) -> dict[int, _Owned]:
    owned: dict[int, _Owned] = defaultdict(_Owned)
    for basket in history:
        for p in basket.products:
            owned[p].add(basket.day)
    return owned


@dataclass
class NextNeedModel:
    """Replenishment, sequences, baskets and popularity, learnt from purchase histories.

    For a contact it scores the chance that their next order holds a product,
    each estimate counted on the histories it was fitted on:

    * **reorder** (a product they bought on two days or more): how often
      customers bought such a product again when it was as due (the days since
      their last purchase of it against their own average interval) and as
      regular (the share of their orders holding it); bought only once: how
      often buyers of it bought it again on their next order;
    * **sequence** (a product new to them): how often it came new in the order
      after one holding a product of their last order;
    * **together**: how often it shares a basket with a product of their recent
      orders (half weight);
    * **popular**: how often an order holds it as a first purchase, the last resort.

    The evidence that adds most to a product's score is its reason.
    """

    names: dict[int, str] = field(default_factory=dict)
    #: a -> {q: orders after one holding a that held q, new to the customer}
    after: dict[int, dict[int, int]] = field(default_factory=dict)
    #: a -> orders followed by another order that held a
    after_base: dict[int, int] = field(default_factory=dict)
    #: a -> {q: baskets holding both}
    together: dict[int, dict[int, int]] = field(default_factory=dict)
    #: a -> baskets holding a
    baskets: dict[int, int] = field(default_factory=dict)
    #: q -> orders in which q was a first purchase
    first_buys: dict[int, int] = field(default_factory=dict)
    #: q -> customers who bought it
    buyers: dict[int, int] = field(default_factory=dict)
    orders: int = 0
    #: p -> (next orders holding p again, next orders after a single purchase of p)
    rebuys: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: p -> average days between two purchases of p by the same customer
    intervals: dict[int, float] = field(default_factory=dict)
    #: (due bucket, share bucket) -> (orders holding the product again, orders)
    cells: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    popular_ranked: list[int] = field(default_factory=list)

    @classmethod
    def fit(cls, histories: dict[int, History], names: dict[int, str]) -> NextNeedModel:
        after: dict[int, Counter] = defaultdict(Counter)
        after_base: Counter = Counter()
        together: dict[int, Counter] = defaultdict(Counter)
        baskets: Counter = Counter()
        first_buys: Counter = Counter()
        buyers: Counter = Counter()
        rebuy_hits: Counter = Counter()
        rebuy_base: Counter = Counter()
        cell_hits: Counter = Counter()
        cell_base: Counter = Counter()
        gap_sum: Counter = Counter()
        gap_count: Counter = Counter()
        orders = 0
        for history in histories.values():
            owned: dict[int, _Owned] = defaultdict(_Owned)
            previous: frozenset[int] = frozenset()
            for n, basket in enumerate(history):
                orders += 1
                here = basket.products
                new = [q for q in here if q not in owned]
                first_buys.update(new)
                for a in previous:
                    after_base[a] += 1
                    if new:
                        after[a].update(new)
                for p, got in owned.items():
                    if got.days >= 2:
                        due = max(basket.day - got.last, 1) / max(got.every, 1.0)
                        cell = (_bucket(due, DUE_EDGES), _bucket(got.orders / n, SHARE_EDGES))
                        cell_base[cell] += 1
                        cell_hits[cell] += p in here
                    elif got.orders == 1:
                        rebuy_base[p] += 1
                        rebuy_hits[p] += p in here
                for a in here:
                    baskets[a] += 1
                    if len(here) > 1:
                        together[a].update(q for q in here if q != a)
                    if a in owned and basket.day > owned[a].last:
                        gap_sum[a] += basket.day - owned[a].last
                        gap_count[a] += 1
                    owned[a].add(basket.day)
                previous = here
            buyers.update(owned.keys())
        return cls(
            names=dict(names),
            after={a: _top(c) for a, c in after.items()},
            after_base=dict(after_base),
            together={a: _top(c) for a, c in together.items()},
            baskets=dict(baskets),
            first_buys=dict(first_buys),
            buyers=dict(buyers),
            orders=orders,
            rebuys={p: (rebuy_hits[p], n) for p, n in rebuy_base.items()},
            intervals={p: gap_sum[p] / n for p, n in gap_count.items()},
            cells={cell: (cell_hits[cell], n) for cell, n in cell_base.items()},
            popular_ranked=[
                p for p, _ in sorted(first_buys.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
        )

    # ------------------------------------------------------------ scoring

    def name(self, product_id: int) -> str:
        return self.names.get(product_id, f"Product {product_id}")

    def _cell_rate(self, due: float, share: float) -> float:
        d = _bucket(due, DUE_EDGES)
        row_hits = row_base = 0
        for (dd, _), (hits, base) in self.cells.items():
            if dd == d:
                row_hits, row_base = row_hits + hits, row_base + base
        prior = (row_hits + 0.5) / (row_base + 1.0)
        hits, base = self.cells.get((d, _bucket(share, SHARE_EDGES)), (0, 0))
        return (hits + CELL_PRIOR * prior) / (base + CELL_PRIOR)

    def _rebuy_rate(self, product_id: int) -> float:
        hits, base = self.rebuys.get(product_id, (0, 0))
        return (hits + 0.1) / (base + 1.0)  # a product never seen again stays near 0

    def _reorder(self, product_id: int, got: _Owned, orders: int, today: int) -> Need:
        since = max(0, today - got.last)
        name = self.name(product_id)
        if got.days >= 2:
            every = got.every
            due = max(since, 1) / max(every, 1.0)
            # Ties (the same bucket) go to the product bought in more orders.
            score = self._cell_rate(due, got.orders / orders) + 1e-4 * got.orders / orders
            # A product many orders hold (the shop's favourite) is bought off-cycle too.
            score = 1.0 - (1.0 - score) * (
                1.0 - self.baskets.get(product_id, 0) / (self.orders + 1)
            )
            cycle = f"every {_days(every)}, last {_days(since)} ago"
            if due >= LAPSED:
                reason = f"Used to reorder {name} every {_days(every)}; last {_days(since)} ago"
            elif due >= OVERDUE:
                reason = f"Reorder of {name} is overdue: {cycle}"
            elif due >= 0.8:
                reason = f"Reorder of {name} is due: {cycle}"
            else:
                reason = f"Reorder of {name} due in {_days(every - since)}: {cycle}"
            return Need(product_id, score, REORDER, reason)
        score = self._rebuy_rate(product_id)
        usual = self.intervals.get(product_id)
        if got.orders >= 2:  # twice on the same day
            reason = f"Reorder of {name}: bought {got.orders} times, last {_days(since)} ago"
        elif usual:
            reason = (
                f"Bought {name} once, {_days(since)} ago; "
                f"repeat buyers reorder it every {_days(usual)}"
            )
        else:
            reason = f"Bought {name} once, {_days(since)} ago"
        return Need(product_id, score, REORDER, reason)

    def recommend(self, history: History, *, today: int, k: int = 3) -> list[Need]:
        """The ``k`` products most likely in the contact's next order, best first."""
        owned = _owned(history)
        needs = {p: self._reorder(p, got, len(history), today) for p, got in owned.items()}
        evidence: dict[int, dict[str, tuple[float, str]]] = defaultdict(dict)
        if history:
            for a in sorted(history[-1].products):
                base = self.after_base.get(a, 0)
                for q, n in self.after.get(a, {}).items():
                    rate = n / (base + 1.0)
                    if q not in owned and rate > evidence[q].get(SEQUENCE, (0.0, ""))[0]:
                        evidence[q][SEQUENCE] = (rate, self._after_reason(a, n, n / base))
            for basket in history[-RECENT_BASKETS:]:
                for a in sorted(basket.products):
                    base = self.baskets.get(a, 0)
                    for q, n in self.together.get(a, {}).items():
                        rate = TOGETHER_WEIGHT * n / (base + 1.0)
                        if q not in owned and rate > evidence[q].get(TOGETHER, (0.0, ""))[0]:
                            evidence[q][TOGETHER] = (rate, self._with_reason(a, n, n / base))
        shown = 0
        for q in self.popular_ranked:
            if shown >= POPULAR_CANDIDATES:
                break
            if q not in owned:
                shown += 1
                evidence[q][POPULAR] = (self.first_buys[q] / (self.orders + 1.0), "")
        for q, parts in evidence.items():
            score = sum(rate for rate, _ in parts.values())
            kind = max(parts, key=lambda key: (parts[key][0], -KINDS.index(key)))
            reason = parts[kind][1] or self._popular_reason(q)
            needs[q] = Need(q, score, kind, reason)
        ranked = sorted(needs.values(), key=lambda need: (-need.score, need.product_id))
        return ranked[:k]

    def _after_reason(self, a: int, n: int, rate: float) -> str:
        if rate >= OFTEN:
            return f"Often bought after {self.name(a)} ({_share(rate)} of the time)"
        who = "customer" if n == 1 else "customers"
        return f"Bought after {self.name(a)} by {n} {who}"

    def _with_reason(self, a: int, n: int, rate: float) -> str:
        if rate >= OFTEN:
            return f"Often bought with {self.name(a)} (in {_share(rate)} of its orders)"
        return f"Bought with {self.name(a)} in {n} order{'' if n == 1 else 's'}"

    def _popular_reason(self, q: int) -> str:
        n = self.buyers.get(q, 0)
        return f"Popular: bought by {n:,} customer{'' if n == 1 else 's'}"

    # ------------------------------------------------------------ baselines

    def most_popular(self, history: History, k: int = 3) -> list[int]:
        """Baseline: the products bought by most customers, not yet bought by this one."""
        owned = {p for basket in history for p in basket.products}
        ranked = sorted(self.buyers.items(), key=lambda kv: (-kv[1], kv[0]))
        return [p for p, _ in ranked if p not in owned][:k]


def most_frequent(history: History, k: int = 3) -> list[int]:
    """Baseline: this customer's own most often bought products (the latest first on ties)."""
    counts: Counter = Counter()
    latest: dict[int, int] = {}
    for basket in history:
        counts.update(basket.products)
        for p in basket.products:
            latest[p] = basket.day
    ranked = sorted(counts, key=lambda p: (-counts[p], -latest[p], p))
    return ranked[:k]


def next_need_metrics(
    histories: dict[int, History], names: dict[int, str], *, seed: int = 0, test_share: float = 0.25
) -> dict[str, Any]:
    """hit@3 on each held-out customer's last order, for the model and both baselines.

    Customers with two orders or more are split at random (``seed``) into
    training and held-out ones; the held-out ones' last orders are hidden, the
    model is fitted on everything else and asked on the day of each hidden
    order. A hit: one of the three products is in that order.
    """
    eligible = sorted(c for c, h in histories.items() if len(h) >= 2)
    rng = random.Random(seed)
    held_out = set(rng.sample(eligible, round(test_share * len(eligible))))
    training = {c: (h[:-1] if c in held_out else h) for c, h in histories.items()}
    model = NextNeedModel.fit(training, names)
    hits = {"model": 0, "popular": 0, "frequent": 0}
    kinds: Counter = Counter()
    for contact_id in sorted(held_out):
        history, target = histories[contact_id][:-1], histories[contact_id][-1]
        needs = model.recommend(history, today=target.day, k=3)
        kinds.update(need.kind for need in needs if need.product_id in target.products)
        hits["model"] += any(n.product_id in target.products for n in needs)
        hits["popular"] += any(p in target.products for p in model.most_popular(history, 3))
        hits["frequent"] += any(p in target.products for p in most_frequent(history, 3))
    cases = len(held_out)

    def rate(n: int) -> float | None:
        return round(n / cases, 4) if cases else None

    return {
        "next_need_cases": cases,
        "next_need_hit_at_3": rate(hits["model"]),
        "popular_hit_at_3": rate(hits["popular"]),
        "frequent_hit_at_3": rate(hits["frequent"]),
        "next_need_hits_by_kind": dict(sorted(kinds.items())),
    }


def next_needs_train(*, workspace: Workspace) -> tuple[NextNeedModel, dict[str, Any]]:
    """The workspace's next-need model, fitted on its whole purchase history, and its
    held-out metrics (hit@3 against both baselines). Two queries."""
    histories = purchase_histories(workspace=workspace)
    names = dict(Product.objects.in_workspace(workspace).values_list("pk", "name"))
    return NextNeedModel.fit(histories, names), next_need_metrics(histories, names)
