"""A telco-shaped customer export, imported through the project's own importer."""

from __future__ import annotations

import pytest

from ai_features.capabilities.prediction import selectors, services
from ai_features.capabilities.prediction.features import DIRECTIONS
from ai_features.capabilities.prediction.models import ContactScore
from crmcore.integrations import selectors as integration_selectors
from crmcore.models import Contact
from training_sandbox.generator.telco import COLUMNS, telco_compare, telco_csv, telco_rows

#: Words that say a factor can only raise the risk, or only lower it.
ONLY_RAISES = ("Nothing spent", "No order in", "No order yet", "Negative tone")
ONLY_LOWERS = ("No refunded", "No ticket", "No negative", "No lost deal")


def test_telco_rows__same_seed_same_rows_shape_of_the_export():
    rows = telco_rows(customers=300, seed=3)

    assert rows == telco_rows(customers=300, seed=3)
    assert telco_csv(rows).splitlines()[0] == ",".join(COLUMNS)
    churn = sum(row["Churn"] == "Yes" for row in rows) / len(rows)
    assert 0.15 < churn < 0.45
    assert {row["Contract"] for row in rows} == {"Month-to-month", "One year", "Two year"}
    assert any(row["TotalCharges"] == "" for row in telco_rows(customers=2000, seed=3))


@pytest.fixture
def telco(workspace, settings):
    settings.AI_PREDICTION_MIN_AUC = 0.5
    return telco_compare(workspace=workspace, customers=1500, seed=11)


def test_telco__project_import_and_training__auc_at_least_a_plain_logistic_regression(
    telco, workspace
):
    # Given a telco-shaped export imported through the mapping, every row kept
    assert telco.rejected == 0
    assert Contact.objects.in_workspace(workspace).count() == 1500
    types = integration_selectors.contact_attribute_types(workspace=workspace)
    assert types["tenure"] == ("number", "months")
    assert types["SeniorCitizen"] == ("boolean", "")
    assert types["Contract"] == ("category", "")

    # Then the project's sign-constrained model, trained on it, ranks held-out
    # customers at least as well as a plain logistic regression on the raw table
    assert telco.n_test > 300
    assert telco.auc_plain > 0.75
    assert telco.auc >= telco.auc_plain


def test_telco__scored_customers__words_agree_with_signs_and_each_fact_named_once(telco, workspace):
    version = services.model_version_train(workspace=workspace)
    services.contacts_score(workspace=workspace)
    churn = services.artifact_load(version)["churn"]
    names = churn.feature_names
    tenure_keys = set(churn.spec.tenure_sources)
    assert tenure_keys == {"tenure"}
    contradictions, duplicates, explained = [], [], 0

    for score in ContactScore.objects.select_related("contact"):
        explanation = selectors.contact_prediction(
            workspace=workspace, contact=score.contact
        ).explanation
        explained += 1
        texts = [f.text for f in explanation.factors]
        sources = [
            "tenure" if f.name == "tenure_days" else f.name.partition("=")[0].split(" (")[0]
            for f in explanation.factors
        ]
        if len(set(sources)) != len(sources) or len(set(texts)) != len(texts):
            duplicates.append(texts)
        for factor in explanation.factors:
            side = "raises" if factor.contribution > 0 else "lowers"
            if factor.text.startswith(ONLY_RAISES) and side == "lowers":
                contradictions.append((factor.text, factor.contribution))
            if factor.text.startswith(ONLY_LOWERS) and side == "raises":
                contradictions.append((factor.text, factor.contribution))
            direction = DIRECTIONS.get(factor.name)
            reference = churn.mean[names.index(factor.name)]
            if direction is None or abs(float(factor.value) - reference) < 1e-3:
                continue
            expected = direction * (1 if float(factor.value) > reference else -1)
            if (1 if factor.contribution > 0 else -1) != expected and factor.contribution:
                contradictions.append((factor.text, factor.contribution))

    assert explained > 500
    assert contradictions == []
    assert duplicates == []
