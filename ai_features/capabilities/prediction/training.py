"""Training and evaluating a workspace's churn and next-product models.

scikit-learn is imported lazily, inside the functions that fit.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import groupby, pairwise
from operator import itemgetter
from typing import Any

import numpy as np
from django.db.models import Max, Min

from ai_features.capabilities.prediction.conf import app_settings
from ai_features.capabilities.prediction.features import FeatureSpec, extract_raw

# ChurnModel is also imported here by name: artifacts pickled before the split
# name it as ``training.ChurnModel``.
from ai_features.capabilities.prediction.models_math import (
    ChurnModel,
    churn_metrics,
    fit_sign_constrained,
)
from crmcore.models import Contact, Order, OrderLine, Product, Workspace

CHURNED = Contact.Stage.CHURNED
CUSTOMER = Contact.Stage.CUSTOMER
#: Share of labelled contacts held out for the model card's metrics.
TEST_SIZE = 0.25


class InsufficientHistory(Exception):
    """Too little labelled history to train; the message says so plainly."""


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


@dataclass
class TrainingResult:
    churn: ChurnModel
    next_products: NextProductModel
    metrics: dict[str, Any]
    as_of: dt.datetime
    data_start: dt.datetime | None
    data_end: dt.datetime | None
    holdout: dict[str, Any]
    notes: str = ""


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


def train(*, workspace: Workspace, as_of: dt.datetime) -> TrainingResult:
    """Fit both models on the workspace's own history; raise InsufficientHistory if thin."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    raw = extract_raw(workspace=workspace, as_of=as_of, stages=(CUSTOMER, CHURNED))
    y = np.array([stage == CHURNED for stage in raw.stages], dtype=np.int8)
    churned, customers = int(y.sum()), int(len(y) - y.sum())
    need_churned, need_customers = (
        app_settings.MIN_CHURNED,
        app_settings.MIN_CUSTOMERS,
    )
    if churned < need_churned or customers < need_customers:
        raise InsufficientHistory(
            f"Not enough history to predict churn yet: {churned} churned and {customers} "
            f"current customers; at least {need_churned} churned and {need_customers} "
            "customers are needed."
        )
    index = np.arange(len(y))
    train_idx, test_idx = train_test_split(index, test_size=TEST_SIZE, random_state=0, stratify=y)
    train_raw, test_raw = raw.subset(train_idx), raw.subset(test_idx)
    spec = FeatureSpec.fit(train_raw)
    x_train = spec.transform(train_raw)
    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    scale[scale == 0] = 1.0
    z_train = (x_train - mean) / scale
    coef, intercept = fit_sign_constrained(z_train, y[train_idx], spec.directions())
    churn = ChurnModel(spec=spec, mean=mean, scale=scale, coef=coef, intercept=intercept)
    matrix_test, contributions = churn.contributions(test_raw)
    p_test = 1.0 / (1.0 + np.exp(-(contributions.sum(axis=1) + churn.intercept)))
    y_test = y[test_idx]
    metrics = churn_metrics(y_test, p_test)
    # The same features without the sign constraints, on the same split: what
    # the constraints cost (or gain) in held-out AUC.
    plain = LogisticRegression(C=1.0, max_iter=5000).fit(z_train, y[train_idx])
    metrics.update(
        {
            "auc_unconstrained": round(
                float(
                    roc_auc_score(y_test, plain.predict_proba(churn.standardize(matrix_test))[:, 1])
                ),
                4,
            ),
            "n_train": len(train_idx),
            "n_test": len(test_idx),
            "churned": churned,
            "customers": customers,
        }
    )

    sequences = purchase_sequences(workspace=workspace)
    names = dict(Product.objects.in_workspace(workspace).values_list("pk", "name"))
    test_ids = {raw.contact_ids[i] for i in test_idx}
    metrics.update(next_product_metrics(sequences, names, test_ids))
    next_products = NextProductModel.fit(sequences, names)

    window = Order.objects.filter(workspace_id=workspace.pk, ordered_at__lt=as_of).aggregate(
        start=Min("ordered_at"), end=Max("ordered_at")
    )
    notes = "; ".join(
        [f"attribute {k!r} left out: {why}" for k, why in spec.excluded.items()]
        + [f"attribute {k!r} counted as tenure" for k in spec.tenure_sources]
    )
    return TrainingResult(
        churn=churn,
        next_products=next_products,
        metrics=metrics,
        as_of=as_of,
        data_start=window["start"],
        data_end=window["end"] or as_of,
        holdout={
            "contact_ids": [test_raw.contact_ids[i] for i in range(len(test_raw))],
            "y": y_test,
            "p": p_test,
            "z": churn.standardize(matrix_test).astype(np.float32),
        },
        notes=notes,
    )
