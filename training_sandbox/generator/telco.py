"""A customer table shaped like the exports of billing systems and other CRMs.

``telco_rows(customers=N, seed=S)`` makes the rows of a subscription business's
customer export, with the columns of the well-known telco churn export: an
id, a name and email (as a CRM adds them), gender, senior citizen (0/1),
partner and dependents (Yes/No), tenure in months, phone and internet
services with their options (Yes/No/"No internet service"), contract type,
paperless billing, payment method, monthly and total charges (blank for a
customer in their first month, as in the original) and a ``Churn`` column.

Churn follows a logistic risk with the drivers such tables show: month-to-month
contracts, fibre internet, electronic checks, no tech support or online
security and high monthly charges raise it; tenure (on a log scale), longer
contracts, a partner and dependents lower it. The same seed gives the same
rows. Nothing here is the demo generator's story: no orders, no interactions.

``telco_csv(rows)`` writes them as CSV text; ``TELCO_MAPPING`` imports them
as contacts (``Churn`` becomes the lifecycle stage, the other columns typed
attributes); ``telco_compare(workspace=..., ...)`` imports a table through the
project's importer, trains the project's churn model and scores a plain
scikit-learn logistic regression on the same table and the same held-out
customers, in the same run.
"""

from __future__ import annotations

import csv
import io
import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils import timezone

from ai_features.capabilities.prediction.training import train
from crmcore.integrations import importer
from crmcore.models import Contact

INTERNET_OPTIONS = (
    "OnlineSecurity",
    "OnlineBackup",
    "DeviceProtection",
    "TechSupport",
    "StreamingTV",
    "StreamingMovies",
)
COLUMNS = (
    "customerID",
    "Name",
    "Email",
    "gender",
    "SeniorCitizen",
    "Partner",
    "Dependents",
    "tenure",
    "PhoneService",
    "MultipleLines",
    "InternetService",
    *INTERNET_OPTIONS,
    "Contract",
    "PaperlessBilling",
    "PaymentMethod",
    "MonthlyCharges",
    "TotalCharges",
    "Churn",
)
#: The columns a plain model reads (everything but the id, name, email and label).
FEATURE_COLUMNS = COLUMNS[3:-1]
NUMERIC_COLUMNS = ("SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges")
PAYMENT_METHODS = (
    "Electronic check",
    "Mailed check",
    "Bank transfer (automatic)",
    "Credit card (automatic)",
)
FIRST_NAMES = ("Alex", "Sam", "Jo", "Kim", "Lee", "Max", "Noor", "Ola", "Pat", "Rui", "Sol", "Tam")

#: Imports the table as contacts: the churn column is the lifecycle stage and
#: every other column a typed attribute (tenure in months, charges in dollars).
TELCO_MAPPING: dict[str, Any] = {
    "columns": {
        "customerID": "external_id",
        "Name": "first_name",
        "Email": "email",
        "Churn": "lifecycle_stage",
        **{column: f"attributes.{column}" for column in FEATURE_COLUMNS},
    },
    "values": {"lifecycle_stage": {"Yes": "churned", "No": "customer"}},
    "types": {
        "attributes.SeniorCitizen": "boolean",
        "attributes.tenure": "number",
        "attributes.MonthlyCharges": "number",
        "attributes.TotalCharges": "number",
        **{
            f"attributes.{column}": "category"
            for column in FEATURE_COLUMNS
            if column not in NUMERIC_COLUMNS
        },
    },
    "units": {
        "attributes.tenure": "months",
        "attributes.MonthlyCharges": "USD",
        "attributes.TotalCharges": "USD",
    },
}


def _yes(rng: random.Random, p: float) -> str:
    return "Yes" if rng.random() < p else "No"


def telco_rows(*, customers: int = 5000, seed: int = 0) -> list[dict[str, str]]:
    """The rows of a telco-shaped customer export (values as text, as in the CSV)."""
    rng = random.Random(seed)
    rows = []
    for i in range(customers):
        senior = rng.random() < 0.16
        partner = rng.random() < 0.48
        dependents = partner and rng.random() < 0.6
        contract = rng.choices(("Month-to-month", "One year", "Two year"), (55, 21, 24))[0]
        floor = {"Month-to-month": 1, "One year": 6, "Two year": 12}[contract]
        tenure = 0 if rng.random() < 0.01 else rng.randint(floor, 72)
        if contract == "Month-to-month":
            tenure = min(tenure, rng.randint(1, 72))
        phone = rng.random() < 0.9
        internet = rng.choices(("DSL", "Fiber optic", "No"), (34, 44, 22))[0]
        options = {
            name: ("No internet service" if internet == "No" else _yes(rng, 0.4))
            for name in INTERNET_OPTIONS
        }
        paperless = rng.random() < (0.7 if internet == "Fiber optic" else 0.5)
        payment = rng.choices(PAYMENT_METHODS, (34, 23, 22, 21))[0]
        monthly = 20.0 + (5.0 if phone else 0.0)
        monthly += {"DSL": 25.0, "Fiber optic": 50.0, "No": 0.0}[internet]
        monthly += sum(5.0 for value in options.values() if value == "Yes")
        monthly += rng.uniform(-3.0, 3.0)
        multiple = "No phone service" if not phone else _yes(rng, 0.45)
        if multiple == "Yes":
            monthly += 5.0
        risk = (
            {"Month-to-month": 0.9, "One year": -0.6, "Two year": -1.6}[contract]
            - 0.55 * math.log1p(tenure)
            + (0.6 if internet == "Fiber optic" else -0.5 if internet == "No" else 0.0)
            + (0.5 if payment == "Electronic check" else 0.0)
            + (0.35 if options["TechSupport"] == "No" else 0.0)
            + (0.3 if options["OnlineSecurity"] == "No" else 0.0)
            + (0.3 if senior else 0.0)
            + (0.25 if paperless else 0.0)
            - (0.2 if partner else 0.0)
            - (0.25 if dependents else 0.0)
            + 0.012 * (monthly - 65.0)
        )
        churned = rng.random() < 1.0 / (1.0 + math.exp(-risk))
        name = rng.choice(FIRST_NAMES)
        total = "" if tenure == 0 else f"{monthly * tenure * rng.uniform(0.97, 1.03):.2f}"
        rows.append(
            {
                "customerID": f"{1000 + i:04d}-T{seed % 100:02d}",
                "Name": name,
                "Email": f"{name.lower()}.{i}@example.net",
                "gender": rng.choice(("Female", "Male")),
                "SeniorCitizen": "1" if senior else "0",
                "Partner": "Yes" if partner else "No",
                "Dependents": "Yes" if dependents else "No",
                "tenure": str(tenure),
                "PhoneService": "Yes" if phone else "No",
                "MultipleLines": multiple,
                "InternetService": internet,
                **options,
                "Contract": contract,
                "PaperlessBilling": "Yes" if paperless else "No",
                "PaymentMethod": payment,
                "MonthlyCharges": f"{monthly:.2f}",
                "TotalCharges": total,
                "Churn": "Yes" if churned else "No",
            }
        )
    return rows


def telco_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def plain_matrix(rows: list[dict[str, str]]) -> tuple[Any, list[str]]:
    """The table as a plain model reads it: numbers as numbers (blank: 0), every
    other column one-hot, as a data scientist would prepare it."""
    names: list[str] = list(NUMERIC_COLUMNS)
    levels = {
        column: sorted({row[column] for row in rows})
        for column in FEATURE_COLUMNS
        if column not in NUMERIC_COLUMNS
    }
    for column, values in levels.items():
        names += [f"{column}={value}" for value in values]
    matrix = np.zeros((len(rows), len(names)))
    for i, row in enumerate(rows):
        cells = [float(row[column] or 0) for column in NUMERIC_COLUMNS]
        for column, options in levels.items():
            cells += [1.0 if row[column] == value else 0.0 for value in options]
        matrix[i] = cells
    return matrix, names


@dataclass(frozen=True)
class TelcoComparison:
    auc: float  # the project's own import and training
    auc_plain: float  # scikit-learn's LogisticRegression on the raw table, same split
    auc_unconstrained: float  # the project's features without its sign constraints
    n_train: int
    n_test: int
    rejected: int  # rows the import rejected


def telco_compare(*, workspace: Any, customers: int = 5000, seed: int = 0) -> TelcoComparison:
    """Import a generated telco table into ``workspace`` through the project's importer,
    train the project's churn model, and score a plain logistic regression on the same
    table with the same held-out customers."""
    # Lazy: scikit-learn is only needed when a comparison runs (tests, a benchmark).
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    rows = telco_rows(customers=customers, seed=seed)
    data = telco_csv(rows).encode("utf-8")
    result = importer.run_import(
        workspace=workspace,
        kind="contacts",
        source=lambda: io.BytesIO(data),
        mapping=TELCO_MAPPING,
    )
    trained = train(workspace=workspace, as_of=timezone.now())
    external = dict(Contact.objects.in_workspace(workspace).values_list("pk", "external_id"))
    by_id = {row["customerID"]: i for i, row in enumerate(rows)}
    test = [by_id[external[pk]] for pk in trained.holdout["contact_ids"]]
    held_out = set(test)
    train_rows = [i for i in by_id.values() if i not in held_out]
    matrix, _ = plain_matrix(rows)
    y = np.array([row["Churn"] == "Yes" for row in rows], dtype=np.int8)
    scaler = StandardScaler().fit(matrix[train_rows])
    plain = LogisticRegression(C=1.0, max_iter=5000).fit(
        scaler.transform(matrix[train_rows]), y[train_rows]
    )
    p_test = plain.predict_proba(scaler.transform(matrix[test]))[:, 1]
    return TelcoComparison(
        auc=float(trained.metrics["auc"]),
        auc_plain=round(float(roc_auc_score(y[test], p_test)), 4),
        auc_unconstrained=float(trained.metrics["auc_unconstrained"]),
        n_train=len(train_rows),
        n_test=len(test),
        rejected=result.counts.rejected,
    )
