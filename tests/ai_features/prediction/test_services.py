import numpy as np
import pytest
from django.core.files.storage import default_storage

from ai_features.capabilities.prediction import services
from ai_features.capabilities.prediction.features import extract_raw
from ai_features.capabilities.prediction.models import BiasAudit, ContactScore, ModelVersion
from ai_features.capabilities.prediction.selectors import contact_next_needs, contact_prediction
from crmcore import events
from crmcore.models import Contact
from tests.ai_features.prediction.helpers import make_history


@pytest.fixture
def history(workspace):
    return make_history(workspace, customers=30, churned=30)


@pytest.fixture
def live(workspace, history, settings):
    settings.AI_PREDICTION_MIN_AUC = 0.5
    return services.model_version_train(workspace=workspace)


def test_model_version_train__passes_gate__published_live_with_card_and_audit(live):
    assert live.status == ModelVersion.Status.PUBLISHED
    assert live.is_live is True
    assert live.metrics["auc"] >= 0.5
    assert set(live.metrics) >= {"auc", "precision_top10", "brier", "reliability", "n_test"}
    assert live.feature_names[0] == "days_since_last_order"
    assert len(live.coefficients) == len(live.feature_names)
    assert default_storage.exists(live.artifact.name)
    assert BiasAudit.objects.filter(model_version=live).count() == 1


def test_model_version_train__below_gate__rejected_and_previous_stays_live(
    workspace, live, settings
):
    settings.AI_PREDICTION_MIN_AUC = 1.01

    version = services.model_version_train(workspace=workspace)

    assert version.status == ModelVersion.Status.REJECTED
    assert version.is_live is False
    live.refresh_from_db()
    assert live.is_live is True


def test_model_version_train__too_little_history__recorded_with_plain_message(workspace):
    make_history(workspace, customers=4, churned=2)

    version = services.model_version_train(workspace=workspace)

    assert version.status == ModelVersion.Status.INSUFFICIENT
    assert version.notes.startswith("Not enough history to predict churn yet: 2 churned")
    assert ModelVersion.objects.filter(workspace=workspace, is_live=True).count() == 0


def test_model_version_publish__earlier_version__rolls_back(workspace, live, staff_user):
    newer = services.model_version_train(workspace=workspace)
    assert newer.is_live is True

    services.model_version_publish(version=live, user=staff_user)

    live.refresh_from_db()
    newer.refresh_from_db()
    assert (live.is_live, newer.is_live) == (True, False)


def test_model_version_publish__rejected_version__refused(workspace, live, settings, staff_user):
    settings.AI_PREDICTION_MIN_AUC = 1.01
    rejected = services.model_version_train(workspace=workspace)

    with pytest.raises(ValueError, match="passed the quality gate"):
        services.model_version_publish(version=rejected, user=staff_user)


def test_artifact_load__twice__read_from_storage_once(live, monkeypatch):
    services._artifacts.clear()
    opened = []
    real_open = default_storage.open
    monkeypatch.setattr(
        default_storage,
        "open",
        lambda name, mode="rb": opened.append(name) or real_open(name, mode),
    )

    first = services.artifact_load(live)
    second = services.artifact_load(live)

    assert first is second
    assert opened == [live.artifact.name]


def test_contributions__every_contact__add_up_to_log_odds(workspace, live):
    payload = services.artifact_load(live)
    churn = payload["churn"]
    raw = extract_raw(
        workspace=workspace, as_of=live.as_of, stages=(Contact.Stage.CUSTOMER, "churned")
    )

    _, contributions = churn.contributions(raw)
    log_odds = contributions.sum(axis=1) + churn.intercept

    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression()
    model.classes_ = np.array([0, 1])
    model.coef_ = churn.coef[None, :]
    model.intercept_ = np.array([churn.intercept])
    z = churn.standardize(churn.spec.transform(raw))
    np.testing.assert_allclose(log_odds, model.decision_function(z), rtol=1e-9)
    np.testing.assert_allclose(churn.predict_proba(raw), model.predict_proba(z)[:, 1], rtol=1e-9)


def test_contacts_score__customers__stored_factors_plus_rest_add_up_to_score(workspace, live):
    result = services.contacts_score(workspace=workspace, chunk_size=7)

    assert result.scored == 30
    scores = list(ContactScore.objects.filter(workspace=workspace))
    assert len(scores) == 30
    for score in scores:
        total = live.intercept + sum(c for _, c, _ in score.factors) + score.rest
        assert total == pytest.approx(score.log_odds, abs=1e-4)
        assert score.probability == pytest.approx(1 / (1 + np.exp(-score.log_odds)))
        assert len(score.next_products) <= 3
        assert score.next_action["kind"] in {"follow_up", "call", "offer", "check_in"}


def test_contacts_score__run_twice__idempotent_and_drops_non_customers(workspace, live, history):
    services.contacts_score(workspace=workspace)
    first = dict(ContactScore.objects.values_list("contact_id", "probability"))
    Contact.objects.filter(pk=history[0].pk).update(lifecycle_stage=Contact.Stage.CHURNED)

    services.contacts_score(workspace=workspace)

    second = dict(ContactScore.objects.values_list("contact_id", "probability"))
    assert history[0].pk not in second
    assert len(second) == 29
    assert all(second[k] == pytest.approx(first[k]) for k in second)


def test_contacts_score__crossing_high_band__emits_event_once(
    workspace, live, settings, django_capture_on_commit_callbacks
):
    seen = []
    listener = events.subscribe(lambda event: seen.append(event))
    try:
        settings.AI_PREDICTION_HIGH_RISK = 1.01  # nobody is high risk
        with django_capture_on_commit_callbacks(execute=True):
            services.contacts_score(workspace=workspace)
        settings.AI_PREDICTION_HIGH_RISK = 0.0  # everyone is
        with django_capture_on_commit_callbacks(execute=True):
            services.contacts_score(workspace=workspace)
        with django_capture_on_commit_callbacks(execute=True):
            services.contacts_score(workspace=workspace)
    finally:
        events.unsubscribe(listener)

    high = [e for e in seen if e.name == "contact.churn_risk_high"]
    assert len(high) == 30
    assert set(high[0].payload) == {"contact_id", "churn_risk", "model_version"}


def test_contact_prediction__scored_customer__explanation_in_words(workspace, live, history):
    services.contact_next_needs_refresh(workspace=workspace)
    services.contacts_score(workspace=workspace)

    prediction = contact_prediction(workspace=workspace, contact=history[0])

    data = prediction.as_dict()
    assert data["status"] == "scored"
    assert data["explanation"]["raising"] or data["explanation"]["lowering"]
    texts = [f["text"] for f in data["explanation"]["raising"] + data["explanation"]["lowering"]]
    assert all(isinstance(t, str) and t for t in texts)
    # the next products are the contact's stored next needs
    needs = contact_next_needs(workspace=workspace, contact=history[0])
    assert len(needs) == 3
    assert [p["name"] for p in data["next_products"]] == [n["product"] for n in needs]


def test_contact_prediction__no_model__plain_reason(workspace, history):
    prediction = contact_prediction(workspace=workspace, contact=history[0])

    assert prediction.as_dict() == {
        "contact": history[0].pk,
        "status": "unavailable",
        "detail": "No churn model has been trained for this workspace yet.",
    }


def _top_factors_one_row(row, k):
    """The factors of one row, picked the plain way: k largest raising and k
    most lowering contributions, strongest first."""
    order = sorted(range(len(row)), key=lambda j: row[j])
    picked = [j for j in order[::-1][:k] if row[j] > 0] + [j for j in order[:k] if row[j] < 0]
    return sorted(picked, key=lambda j: -abs(row[j]))


@pytest.mark.parametrize("features", [2, 5, 40])
def test_top_factors__chunk_at_once__same_as_row_by_row(features):
    rng = np.random.default_rng(features)
    contributions = rng.normal(size=(200, features))
    contributions[::7] = 0.0  # rows with no factor at all
    contributions[1::5, 0] = -contributions[1::5, 1]  # ties of size
    matrix = rng.normal(size=contributions.shape)

    factors = services.top_factors(matrix, contributions, 3)

    for i, row in enumerate(contributions.tolist()):
        expected = _top_factors_one_row(row, 3)
        n = int(factors.counts[i])
        assert sorted(factors.columns[i, :n].tolist()) == sorted(expected)
        assert np.abs(factors.values[i, :n]).tolist() == sorted(
            (abs(row[j]) for j in expected), reverse=True
        )
        np.testing.assert_array_equal(factors.inputs[i, :n], matrix[i, factors.columns[i, :n]])
        assert factors.total[i] == pytest.approx(sum(row[j] for j in expected))
        raising = [j for j in expected if row[j] > 0]
        if raising:
            assert factors.columns[i, factors.raising[i]] == raising[0]
        else:
            assert factors.raising[i] == -1
