"""Next needs: what each contact is likely to buy next, and why.

Split from ``training`` (the churn model) so that the next-need model, its
evaluation and its storage live together.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import groupby, pairwise
from operator import itemgetter
from typing import Any

from crmcore.models import Order, OrderLine, Workspace


@dataclass
class NextProductModel:
    """Product -> next product transitions, item co-occurrence and popularity."""

    transitions: dict[int, dict[int, float]] = field(default_factory=dict)
    cooccurrence: dict[int, dict[int, float]] = field(default_factory=dict)
    popularity: dict[int, float] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    @classmethod
    def fit(cls, sequences: dict[int, list[int]], names: dict[int, str]) -> NextProductModel:
        transitions: dict[int, Counter] = defaultdict(Counter)
        cooccurrence: dict[int, Counter] = defaultdict(Counter)
        popularity: Counter = Counter()
        for sequence in sequences.values():
            for a, b in pairwise(sequence):
                transitions[a][b] += 1
            owned = set(sequence)
            popularity.update(owned)
            for a in owned:
                for b in owned:
                    if a != b:
                        cooccurrence[a][b] += 1
        total = sum(popularity.values()) or 1
        return cls(
            transitions={a: _normalize(c) for a, c in transitions.items()},
            cooccurrence={a: _normalize(c) for a, c in cooccurrence.items()},
            popularity={p: n / total for p, n in popularity.items()},
            names=dict(names),
        )

    def recommend(self, history: list[int], k: int = 3) -> list[tuple[int, float]]:
        """Top ``k`` products not yet bought: transitions from the last purchase first,
        then products bought by similar customers, popularity breaking ties."""
        owned = set(history)
        scores: Counter = Counter()
        if history:
            for product, p in self.transitions.get(history[-1], {}).items():
                scores[product] += 1.0 * p
            for item in owned:
                for product, p in self.cooccurrence.get(item, {}).items():
                    scores[product] += 0.3 * p / len(owned)
        for product, p in self.popularity.items():
            scores[product] += 0.01 * p
        ranked = sorted(
            ((p, s) for p, s in scores.items() if p not in owned), key=lambda ps: (-ps[1], ps[0])
        )
        return ranked[:k]

    def most_popular(self, history: list[int], k: int = 3) -> list[int]:
        owned = set(history)
        ranked = sorted(self.popularity.items(), key=lambda ps: (-ps[1], ps[0]))
        return [p for p, _ in ranked if p not in owned][:k]


def _normalize(counter: Counter) -> dict[int, float]:
    total = sum(counter.values()) or 1
    return {k: v / total for k, v in counter.items()}


def purchase_sequences(
    *, workspace: Workspace, as_of: dt.datetime | None = None, id_range=None
) -> dict[int, list[int]]:
    """Each contact's products in the order first bought (one query)."""
    # Scoped through the order too: a range of contacts is then read through
    # the orders' (workspace, contact) index rather than every line of the
    # workspace per chunk.
    qs = OrderLine.objects.filter(
        workspace_id=workspace.pk, order__workspace_id=workspace.pk
    ).exclude(order__status=Order.Status.CANCELLED)
    if as_of is not None:
        qs = qs.filter(order__ordered_at__lt=as_of)
    if id_range is not None:
        qs = qs.filter(order__contact_id__gte=id_range[0], order__contact_id__lte=id_range[1])
    rows = qs.order_by("order__contact_id", "order__ordered_at", "pk").values_list(
        "order__contact_id", "product_id"
    )
    # Rows come grouped by contact; dict.fromkeys keeps each product's first purchase.
    return {
        contact_id: list(dict.fromkeys(product_id for _, product_id in group))
        for contact_id, group in groupby(rows.iterator(chunk_size=5000), key=itemgetter(0))
    }


def next_product_metrics(
    sequences: dict[int, list[int]], names: dict[int, str], test_ids: set[int]
) -> dict[str, Any]:
    """Hit rate at 3 on held-out last purchases, against the most-popular baseline."""
    train = {c: s for c, s in sequences.items() if c not in test_ids}
    model = NextProductModel.fit(train, names)
    hits = baseline_hits = cases = 0
    for contact_id in sorted(test_ids):
        sequence = sequences.get(contact_id, [])
        if len(sequence) < 2:
            continue
        history, target = sequence[:-1], sequence[-1]
        cases += 1
        hits += target in [p for p, _ in model.recommend(history, 3)]
        baseline_hits += target in model.most_popular(history, 3)
    return {
        "next_product_cases": cases,
        "next_product_hit_at_3": round(hits / cases, 4) if cases else None,
        "popular_hit_at_3": round(baseline_hits / cases, 4) if cases else None,
    }
