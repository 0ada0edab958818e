"""Training and evaluating a workspace's churn and next-product models.

scikit-learn is imported lazily, inside the functions that fit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
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
from ai_features.capabilities.prediction.next_needs import (  # noqa: F401
    NextNeedModel,
    NextProductModel,  # artifacts of versions trained before next needs load it from here
    next_needs_train,
)
from crmcore.models import Contact, Order, Workspace

CHURNED = Contact.Stage.CHURNED
CUSTOMER = Contact.Stage.CUSTOMER
#: Share of labelled contacts held out for the model card's metrics.
TEST_SIZE = 0.25


class InsufficientHistory(Exception):
    """Too little labelled history to train; the message says so plainly."""


@dataclass
class TrainingResult:
    churn: ChurnModel
    next_products: NextNeedModel
    metrics: dict[str, Any]
    as_of: dt.datetime
    data_start: dt.datetime | None
    data_end: dt.datetime | None
    holdout: dict[str, Any]
    notes: str = ""


def train(*, workspace: Workspace, as_of: dt.datetime) -> TrainingResult:
    """Fit both models on the workspace's own history; raise InsufficientHistory if thin."""
    # Lazy: scikit-learn takes about a second to import; only training needs it.
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

    next_products, next_metrics = next_needs_train(workspace=workspace)
    metrics.update(next_metrics)

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
