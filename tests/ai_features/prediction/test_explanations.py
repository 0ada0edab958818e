"""Explanations a rep can trust: words that agree with their numbers, one factor per fact."""

import datetime as dt
import re

import numpy as np
import pytest
from django.utils import timezone

from ai_features.capabilities.prediction import selectors, services
from ai_features.capabilities.prediction.features import (
    BASE_FEATURES,
    DIRECTIONS,
    FeatureSpec,
    extract_raw,
)
from ai_features.capabilities.prediction.models import ContactScore
from ai_features.capabilities.prediction.models_math import fit_sign_constrained
from ai_features.capabilities.prediction.training import train
from crmcore import factories
from crmcore.integrations.models import ContactAttributeType
from crmcore.models import Contact
from training_sandbox.generator import generate_workspace_data

STAGES = (Contact.Stage.CUSTOMER, Contact.Stage.CHURNED)
#: Words that say a factor can only raise the risk, or only lower it.
ONLY_RAISES = ("Nothing spent", "No order in", "No order yet", "Negative tone")
ONLY_LOWERS = ("No refunded", "No ticket", "No negative", "No lost deal")


def _source(name: str, tenure_keys: set[str]) -> str:
    """The fact a model column speaks of: a built-in feature or an imported attribute."""
    if name == "tenure_days":
        return "tenure"
    if not name.startswith("attr:"):
        return name.partition("=")[0]
    key = re.sub(r"( missing| \(yes/no\)| \(days ago\))$", "", name[5:].partition("=")[0])
    return "tenure" if key in tenure_keys else f"attr:{key}"


@pytest.fixture
def demo_scored(workspace, settings):
    settings.AI_PREDICTION_MIN_AUC = 0.5
    generate_workspace_data(workspace=workspace, contacts=400, seed=7)
    version = services.model_version_train(workspace=workspace)
    services.contacts_score(workspace=workspace)
    return version


def test_explanations__every_scored_demo_contact__words_agree_with_signs(demo_scored, workspace):
    # Given every current customer of a generated demo workspace, scored
    version = demo_scored
    churn = services.artifact_load(version)["churn"]
    names = churn.feature_names
    contacts = Contact.objects.in_workspace(workspace).filter(
        pk__in=ContactScore.objects.values("contact_id")
    )
    contradictions, checked, explanations = [], 0, 0

    for contact in contacts:
        # When a rep reads its explanation
        prediction = selectors.contact_prediction(workspace=workspace, contact=contact)
        explanation = prediction.explanation
        explanations += 1
        # Then it is exact: the base and the contributions add up to the score
        total = explanation.intercept + sum(f.contribution for f in explanation.factors)
        assert total + explanation.rest == pytest.approx(explanation.log_odds, abs=1e-5)
        for factor in explanation.factors:
            side = "raises" if factor.contribution > 0 else "lowers"
            if factor.text.startswith(ONLY_RAISES) and side == "lowers":
                contradictions.append((contact.pk, factor.text, factor.contribution))
            if factor.text.startswith(ONLY_LOWERS) and side == "raises":
                contradictions.append((contact.pk, factor.text, factor.contribution))
            direction = DIRECTIONS.get(factor.name)
            reference = churn.mean[names.index(factor.name)]
            if direction is None or abs(float(factor.value) - reference) < 1e-3:
                continue
            # and a known driver raises the risk only on its risky side of the
            # typical customer ("Last order 300 days ago" raises, "3 refunds" raise)
            checked += 1
            expected = direction * np.sign(float(factor.value) - reference)
            if np.sign(factor.contribution) != expected:
                contradictions.append((contact.pk, factor.text, factor.contribution))

    assert explanations == ContactScore.objects.count() > 150
    assert checked > explanations
    assert contradictions == []


def test_explanations__every_scored_demo_contact__each_fact_named_once(demo_scored, workspace):
    version = demo_scored
    spec = services.artifact_load(version)["churn"].spec
    tenure_keys = set(spec.tenure_sources)
    duplicates = []

    for score in ContactScore.objects.select_related("contact"):
        explanation = selectors.contact_prediction(
            workspace=workspace, contact=score.contact
        ).explanation
        sources = [_source(f.name, tenure_keys) for f in explanation.factors]
        texts = [f.text for f in explanation.factors]
        if len(set(sources)) != len(sources) or len(set(texts)) != len(texts):
            duplicates.append((score.contact_id, texts))

    assert duplicates == []
    # customer_since is tenure, counted once: not a column of its own, nor a category
    assert spec.tenure_sources == {"customer_since": 0.0}
    assert not [n for n in version.feature_names if "customer_since" in n]
    assert "attribute 'customer_since' counted as tenure" in version.notes


def test_train__demo_data__constrained_auc_not_below_a_plain_logistic_regression(workspace):
    # Given demo data and a cutoff at midnight (orders fall in office hours:
    # the same rows on either side of it whenever the test runs)
    generate_workspace_data(workspace=workspace, contacts=600, seed=5)
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)

    # When the sign-constrained model is trained
    result = train(workspace=workspace, as_of=midnight - dt.timedelta(days=30))

    # Then every known driver keeps its sign
    coef = dict(zip(result.churn.feature_names, result.churn.coef, strict=True))
    assert [n for n, d in DIRECTIONS.items() if d * coef[n] < 0] == []
    # and held-out AUC is at least that of the plain model on the same split
    assert result.metrics["auc_unconstrained"] > 0.8
    assert result.metrics["auc"] >= result.metrics["auc_unconstrained"] - 0.01


def test_fit_sign_constrained__suppressor_feature__keeps_its_sign_where_plain_flips_it():
    # Given a churn driver and a near copy of it that a plain fit gives the other sign
    rng = np.random.default_rng(0)
    driver = rng.normal(size=2000)
    copy = driver + 0.3 * rng.normal(size=2000)
    x = np.column_stack([driver, copy])
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = (rng.random(2000) < 1 / (1 + np.exp(-(2.5 * driver - 0.8 * copy)))).astype(np.int8)

    free, _ = fit_sign_constrained(x, y, np.array([0, 0]))
    constrained, _ = fit_sign_constrained(x, y, np.array([+1, +1]))

    assert free[0] > 0 > free[1]
    assert constrained[0] > 0
    assert constrained[1] == 0.0


def test_fit_sign_constrained__no_constraint__same_as_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 3))
    y = (x @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=300) > 0).astype(np.int8)

    coef, intercept = fit_sign_constrained(x, y, np.zeros(3))
    plain = LogisticRegression(C=1.0, max_iter=5000, tol=1e-10).fit(x, y)

    assert coef == pytest.approx(plain.coef_[0], abs=1e-4)
    assert intercept == pytest.approx(plain.intercept_[0], abs=1e-4)


def test_feature_spec__typed_attributes__dates_ages_numbers_booleans_text_left_out(workspace):
    # Given attributes as an import brings them: text for every type
    now = timezone.now()
    today = now.date()
    rows = [
        ("2024-09-12", "2025-01-01", "Yes", "$70.50", "Month-to-month", "called twice about it"),
        ("2025-03-01", "2025-06-30", "No", "1,020.00", "One year", "wants a discount"),
        ("2023-01-15", "2024-12-31", "yes", "99", "Month-to-month", "happy"),
        ("2025-10-01", "", "no", "45.25", "Two year", "moved offices last spring"),
    ]
    for since, renewal, paperless, charges, contract, note in rows:
        attributes = {
            "customer_since": since,
            "renewal_date": renewal,
            "paperless_billing": paperless,
            "MonthlyCharges": charges,
            "contract": contract,
            "note": note,
        }
        factories.ContactFactory(
            workspace=workspace, account=None, region="EMEA", segment="SMB", attributes=attributes
        )
    raw = extract_raw(workspace=workspace, as_of=now, stages=STAGES)

    # When the feature spec is fitted
    spec = FeatureSpec.fit(raw)
    matrix = spec.transform(raw)

    # Then each attribute is read as its type; none of the dates is a category
    assert spec.attribute_types == {
        "MonthlyCharges": "number",
        "contract": "category",
        "customer_since": "date",
        "note": "text",
        "paperless_billing": "boolean",
        "renewal_date": "date",
    }
    assert spec.names[len(BASE_FEATURES) :] == [
        "attr:MonthlyCharges",
        "attr:paperless_billing (yes/no)",
        "attr:renewal_date (days ago)",
        "attr:renewal_date missing",
        "attr:contract=Month-to-month",
        "attr:contract=One year",
        "attr:contract=Two year",
    ]
    assert spec.excluded == {"note": "an identifier or free text (too many distinct values)"}
    column = {name: matrix[:, j].tolist() for j, name in enumerate(spec.names)}
    assert column["attr:MonthlyCharges"] == [70.5, 1020.0, 99.0, 45.25]
    assert column["attr:paperless_billing (yes/no)"] == [1.0, 0.0, 1.0, 0.0]
    renewal = [(today - dt.date.fromisoformat(d)).days for d in ("2025-01-01", "2025-06-30")]
    assert column["attr:renewal_date (days ago)"][:2] == [float(d) for d in renewal]
    assert column["attr:renewal_date missing"] == [0.0, 0.0, 0.0, 1.0]
    # and customer_since is the tenure (no orders here: it is the only start known)
    since = [(today - dt.date.fromisoformat(row[0])).days for row in rows]
    assert column["tenure_days"] == [float(d) for d in since]
    assert spec.tenure_sources == {"customer_since": 0.0}


def test_feature_spec__tenure_in_months__folded_into_tenure_days(workspace):
    now = timezone.now()
    for months in (3, 27, 50):
        factories.ContactFactory(
            workspace=workspace, account=None, attributes={"tenure_months": str(months)}
        )
    raw = extract_raw(workspace=workspace, as_of=now, stages=STAGES)

    spec = FeatureSpec.fit(raw)
    matrix = spec.transform(raw)

    assert "attr:tenure_months" not in spec.names
    tenure = matrix[:, BASE_FEATURES.index("tenure_days")]
    assert tenure.tolist() == [3 * 30.4375, 27 * 30.4375, 50 * 30.4375]


def test_explanations__imported_table_with_typed_attributes__agree_and_tenure_once(
    workspace, settings
):
    # Given customers as a billing export brings them: typed columns, a churn stage,
    # no orders or interactions in the CRM
    settings.AI_PREDICTION_MIN_AUC = 0.5
    rng = np.random.default_rng(4)
    today = timezone.now().date()
    for k in range(240):
        months = int(rng.integers(1, 72))
        contract = ["Month-to-month", "One year", "Two year"][k % 3]
        charges = float(rng.uniform(20, 120))
        risk = 1.2 - 0.05 * months + (1.2 if k % 3 == 0 else -0.6) + 0.01 * charges
        churned = rng.random() < 1 / (1 + np.exp(-risk))
        factories.ContactFactory(
            workspace=workspace,
            account=None,
            region="EMEA",
            segment="SMB",
            lifecycle_stage=Contact.Stage.CHURNED if churned else Contact.Stage.CUSTOMER,
            attributes={
                "tenure": str(months),
                "signup_date": (today - dt.timedelta(days=int(months * 30.4375))).isoformat(),
                "Contract": contract,
                "MonthlyCharges": f"{charges:.2f}",
                "PaperlessBilling": "Yes" if k % 2 else "No",
                "Churn": "Yes" if churned else "No",
            },
        )

    # When the model is trained and the customers scored
    version = services.model_version_train(workspace=workspace)
    services.contacts_score(workspace=workspace)
    churn = services.artifact_load(version)["churn"]

    # Then tenure comes from one source, shown in words, with the sign common sense gives it
    assert churn.spec.tenure_sources == {"signup_date": 0.0, "tenure": 30.4375}
    assert [n for n in version.feature_names if "tenure" in n or "signup" in n] == ["tenure_days"]
    assert dict(zip(version.feature_names, version.coefficients, strict=True))["tenure_days"] < 0
    texts, duplicates = [], []
    for score in ContactScore.objects.select_related("contact"):
        explanation = selectors.contact_prediction(
            workspace=workspace, contact=score.contact
        ).explanation
        sources = [_source(f.name, set(churn.spec.tenure_sources)) for f in explanation.factors]
        if len(set(sources)) != len(sources):
            duplicates.append(sources)
        for f in explanation.factors:
            texts.append(f.text)
            if f.name == "tenure_days":
                reference = churn.mean[churn.feature_names.index("tenure_days")]
                assert np.sign(f.contribution) == -np.sign(float(f.value) - reference)
    assert duplicates == []
    assert any(t.startswith("Customer since ") for t in texts)
    assert any(t.startswith("Monthly charges: $") for t in texts)


def test_feature_spec__types_recorded_by_imports__read_as_recorded(workspace):
    # Given attributes whose values alone mislead: plan codes that look like
    # numbers, a tenure counted in years, a free-text field with repeated values
    now = timezone.now()
    for code, years, note in [("101", "1", "ok"), ("202", "3", "ok"), ("101", "5", "late")]:
        factories.ContactFactory(
            workspace=workspace,
            account=None,
            attributes={"plan_code": code, "tenure": years, "note": note},
        )
    for key, kind, unit in [
        ("plan_code", "category", ""),
        ("tenure", "number", "years"),
        ("note", "text", ""),
    ]:
        ContactAttributeType.objects.create(
            workspace=workspace, key=key, type=kind, unit=unit, declared=True
        )
    raw = extract_raw(workspace=workspace, as_of=now, stages=STAGES)

    # When the feature spec is fitted
    spec = FeatureSpec.fit(raw)
    matrix = spec.transform(raw)

    # Then each attribute is read as its import recorded it
    assert spec.attribute_types == {"note": "text", "plan_code": "category", "tenure": "number"}
    assert spec.categories["attr:plan_code"] == ["101", "202"]
    assert spec.excluded == {"note": "free text (its import says so)"}
    assert spec.tenure_sources == {"tenure": 365.25}
    tenure = matrix[:, BASE_FEATURES.index("tenure_days")]
    assert tenure.tolist() == [365.25, 3 * 365.25, 5 * 365.25]
