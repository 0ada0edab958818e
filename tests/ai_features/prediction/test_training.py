import datetime as dt
import random

import numpy as np
import pytest
from django.utils import timezone

from ai_features.capabilities.prediction import models_math, training
from ai_features.capabilities.prediction.explain import describe
from ai_features.capabilities.prediction.features import extract_raw
from ai_features.capabilities.prediction.models_math import churn_metrics
from ai_features.capabilities.prediction.training import (
    InsufficientHistory,
    train,
)
from crmcore import factories
from crmcore.models import Contact
from tests.ai_features.prediction.helpers import make_history
from training_sandbox.generator import generate_workspace_data

STAGES = (Contact.Stage.CUSTOMER, Contact.Stage.CHURNED)


def _cutoff():
    return timezone.now() - dt.timedelta(days=30)


def test_train__demo_generator_data__auc_drivers_and_next_products_beat_baselines(workspace):
    # Given the demo generator's planted churn drivers and product chains
    generate_workspace_data(workspace=workspace, contacts=1200, seed=11)

    # When the workspace's models are trained
    result = train(workspace=workspace, as_of=_cutoff())

    # Then the churn model separates held-out churned from active customers
    assert result.metrics["auc"] >= 0.8
    # and the planted drivers are among its largest coefficients, in the right direction
    churn = result.churn
    coef = dict(zip(churn.feature_names, churn.coef, strict=True))
    top = [churn.feature_names[j] for j in np.argsort(-np.abs(churn.coef))[:8]]
    assert "days_since_last_order" in top
    assert coef["days_since_last_order"] > 0
    assert coef["refunds"] > 0
    assert coef["attr:nps"] < 0
    # and next needs' hit rate at 3 clearly beats both baselines: the most popular
    # products not yet bought, and the customer's own most frequent products
    m = result.metrics
    assert m["next_need_cases"] > 100
    assert m["next_need_hit_at_3"] >= m["popular_hit_at_3"] + 0.1
    assert m["next_need_hit_at_3"] >= m["frequent_hit_at_3"] + 0.1


def test_train__demo_data__churned_contacts_top_raising_factor_is_a_planted_driver(workspace):
    generate_workspace_data(workspace=workspace, contacts=600, seed=5)
    result = train(workspace=workspace, as_of=_cutoff())
    raw = extract_raw(workspace=workspace, as_of=_cutoff(), stages=(Contact.Stage.CHURNED,))

    _, contributions = result.churn.contributions(raw)
    top_raising = [result.churn.feature_names[j] for j in contributions.argmax(axis=1)]

    planted = {
        "days_since_last_order",
        "refunds",
        "orders_90d",
        "orders_prev_90d",
        "order_trend",
        "attr:nps",
    }
    share = sum(name in planted for name in top_raising) / len(top_raising)
    assert share >= 0.8
    assert not [n for n in result.churn.feature_names if n.startswith("attr:customer_since=")]


def test_train__attribute_table_with_churn_column__trains_and_reports_auc(workspace):
    # Given contacts as a CSV import brings them: arbitrary columns and a churn column
    rng = random.Random(3)
    for _ in range(160):
        usage = rng.uniform(0, 100)
        contract = rng.choice(["monthly", "yearly", "two-year"])
        risk = -0.06 * usage + (1.5 if contract == "monthly" else -0.5) + rng.gauss(0, 0.7)
        churned = risk > -1.5
        factories.ContactFactory(
            workspace=workspace,
            account=None,
            lifecycle_stage=Contact.Stage.CHURNED if churned else Contact.Stage.CUSTOMER,
            attributes={
                "monthly_usage_hours": f"{usage:.1f}",
                "contract": contract,
                "support_calls": rng.randint(0, 5),
                "customer_id": f"C{rng.randrange(10**8)}",
                "Churn": "Yes" if churned else "No",
            },
        )

    result = train(workspace=workspace, as_of=timezone.now())

    assert result.metrics["auc"] >= 0.8
    assert "attr:monthly_usage_hours" in result.churn.feature_names
    assert "attr:contract=monthly" in result.churn.feature_names
    assert not [n for n in result.churn.feature_names if "Churn" in n or "customer_id" in n]
    assert "'Churn' left out: names the label" in result.notes


def test_train__too_few_churned__says_so_plainly(workspace):
    make_history(workspace, customers=12, churned=3)

    with pytest.raises(InsufficientHistory) as excinfo:
        train(workspace=workspace, as_of=_cutoff())

    assert str(excinfo.value) == (
        "Not enough history to predict churn yet: 3 churned and 12 current customers; "
        "at least 10 churned and 10 customers are needed."
    )


def test_churn_metrics__known_scores__auc_precision_brier_and_reliability():
    y = np.array([0, 0, 1, 1, 0, 1, 0, 0, 0, 1])
    p = np.array([0.1, 0.2, 0.8, 0.9, 0.3, 0.15, 0.05, 0.4, 0.2, 0.7])

    metrics = churn_metrics(y, p)

    assert metrics["auc"] == pytest.approx(20 / 24, abs=1e-4)
    assert metrics["precision_top10"] == 1.0
    assert metrics["brier"] == pytest.approx(float(np.mean((p - y) ** 2)), abs=1e-4)
    assert sum(row["count"] for row in metrics["reliability"]) == 10
    assert metrics["reliability"][-1] == {
        "bin": "0.9-1.0",
        "count": 1,
        "predicted": 0.9,
        "observed": 1.0,
    }


def test_describe__features__plain_words(settings):
    settings.AI_PREDICTION_CURRENCY = "USD"
    as_of = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)

    assert describe("days_since_last_order", 94.2) == "Last order 94 days ago"
    assert describe("days_since_last_order", 1.0) == "Last order 1 day ago"
    assert describe("days_since_last_order", 730.0) == "No order in 2 years or more"
    assert describe("tickets_30d", 3.0) == "3 tickets this month"
    assert describe("negative_30d", 1.0) == "1 negative interaction this month"
    assert describe("orders_90d", 0.0) == "No order in the last 90 days"
    assert describe("order_trend", -2.0) == "2 fewer orders than the 90 days before"
    assert describe("spend_90d", 0.0) == "Nothing spent in the last 90 days"
    assert describe("avg_order_value", 1166.4) == "Orders average $1,166"
    assert describe("sentiment_90d", -0.42) == "Negative tone in the last 90 days (-0.42)"
    assert describe("tenure_days", 810, as_of=as_of) == "Customer since Sep 2024 (27 months)"
    assert describe("tenure_days", 12, as_of=as_of) == "Customer since 19 Nov 2026 (12 days)"
    assert describe("tenure_days", 0.0) == "New customer"
    assert describe("attr:plan=gold", 1.0) == "Plan: gold"
    assert describe("attr:plan=gold", 0.0) == "Plan: not gold"
    assert describe("attr:plan=none", 1.0) == "No plan"
    assert describe("attr:plan=none", 0.0) == "Has a plan"
    assert describe("region=EMEA", 0.0) == "Region: not EMEA"
    assert describe("attr:seats", 12.0) == "Seats: 12"
    assert describe("attr:nps", 7.0) == "NPS: 7"
    assert describe("attr:MonthlyCharges", 70.5) == "Monthly charges: $70"
    assert describe("attr:paperless_billing (yes/no)", 1.0) == "Paperless billing: yes"
    assert describe("attr:renewal_date (days ago)", 400, as_of=as_of) == (
        "Renewal date: Oct 2025 (13 months ago)"
    )
    assert describe("attr:nps missing", 1.0) == "NPS not recorded"
    assert describe("attr:since", 738000.0) == "Since: 2021-07-29"  # a model from before types


@pytest.mark.parametrize(
    ("currency", "expected"),
    [
        ("USD", "Spent $12,966 in total"),
        ("eur", "Spent €12,966 in total"),
        ("CHF", "Spent 12,966 CHF in total"),
    ],
)
def test_describe__amount__in_the_workspace_currency(settings, currency, expected):
    settings.AI_PREDICTION_CURRENCY = currency

    assert describe("spend_total", 12966.2) == expected


def test_churn_model__moved_to_models_math__still_importable_from_training_for_old_artifacts():
    # Artifacts pickled before the split name the class as training.ChurnModel.
    assert training.ChurnModel is models_math.ChurnModel
    assert training.fit_sign_constrained is models_math.fit_sign_constrained
