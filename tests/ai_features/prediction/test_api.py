import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from waffle.testutils import override_switch

from ai_features.capabilities.prediction import services
from ai_features.capabilities.prediction.explain import feature_label
from ai_features.gate import kill_switch_active
from ai_features.models import SuggestionEvent
from crmcore import extensions, factories
from tests.ai_features.prediction.helpers import make_history

OFF_REASON = "Prediction is not enabled for "


@pytest.fixture
def scored(workspace, settings):
    settings.AI_PREDICTION_MIN_AUC = 0.5
    contacts = make_history(workspace, customers=20, churned=20)
    version = services.model_version_train(workspace=workspace)
    services.contact_next_needs_refresh(workspace=workspace)
    services.contacts_score(workspace=workspace)
    return contacts, version


def _urls(contact_pk, version_pk):
    return [
        ("get", f"/api/v1/prediction/contacts/{contact_pk}/", None),
        (
            "post",
            f"/api/v1/prediction/contacts/{contact_pk}/feedback/",
            {"kind": "action", "action": "accepted"},
        ),
        ("get", "/api/v1/prediction/models/", None),
        ("get", f"/api/v1/prediction/models/{version_pk}/", None),
        ("post", f"/api/v1/prediction/models/{version_pk}/publish/", None),
        ("post", "/api/v1/prediction/models/retrain/", None),
        ("get", f"/api/v1/prediction/models/{version_pk}/bias/", None),
    ]


def test_api__flag_off__every_endpoint_403_with_plain_reason(scored, staff_api_client):
    contacts, version = scored
    for method, url, data in _urls(contacts[0].pk, version.pk):
        response = getattr(staff_api_client, method)(url, data)
        assert (url, response.status_code) == (url, 403)
        assert response.json()["detail"].startswith(OFF_REASON)


def test_api__kill_switch__every_endpoint_403(scored, staff_api_client, prediction_on):
    contacts, version = scored
    with override_switch("ai_kill_switch", active=True):
        for method, url, data in _urls(contacts[0].pk, version.pk):
            response = getattr(staff_api_client, method)(url, data)
            assert (url, response.status_code) == (url, 403)


def test_contact_prediction_api__flag_on__score_explanation_products_action(
    scored, api_client, prediction_on, django_assert_num_queries
):
    contacts, version = scored
    kill_switch_active()  # warm, as it is after any AI job has run
    # workspace, flag (cold cache), contact, score with its version, next needs
    with django_assert_num_queries(5):
        response = api_client.get(f"/api/v1/prediction/contacts/{contacts[0].pk}/")

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "scored"
    assert data["model_version"] == version.number
    assert 0 <= data["churn_risk"] <= 1
    assert set(data["explanation"]) == {
        "intercept",
        "log_odds",
        "raising",
        "lowering",
        "other_factors",
    }
    assert data["next_action"]["kind"] in {"follow_up", "call", "offer", "check_in"}
    # factors by the labels the panel shows, the model column as a key
    factors = data["explanation"]["raising"] + data["explanation"]["lowering"]
    assert factors
    for factor in factors:
        assert factor["feature"] == feature_label(factor["key"])
        assert "_" not in factor["feature"]
    labels = {f["key"]: f["feature"] for f in factors}
    if "days_since_last_order" in labels:
        assert labels["days_since_last_order"] == "Days since the last order"
    # next needs with their reasons, the same as the products of the score
    assert [n["product"] for n in data["next_needs"]] == [p["name"] for p in data["next_products"]]
    assert all(n["reason"] and n["kind"] for n in data["next_needs"])


def test_contact_prediction_api__other_workspace_contact__404(api_client, prediction_on, sandbox):
    other = factories.ContactFactory(workspace=sandbox, account=None)

    response = api_client.get(f"/api/v1/prediction/contacts/{other.pk}/")

    assert response.status_code == 404


def test_contact_prediction_api__too_little_history__says_so(workspace, api_client, prediction_on):
    contacts = make_history(workspace, customers=5, churned=1)
    services.model_version_train(workspace=workspace)

    response = api_client.get(f"/api/v1/prediction/contacts/{contacts[0].pk}/")

    assert response.json() == {
        "contact": contacts[0].pk,
        "status": "unavailable",
        "detail": (
            "Not enough history to predict churn yet: 1 churned and 5 current customers; "
            "at least 10 churned and 10 customers are needed."
        ),
        "next_needs": [],
    }


def test_contact_feedback_api__accept__recorded_as_pilot_metric(
    scored, api_client, prediction_on, user
):
    contacts, _ = scored

    response = api_client.post(
        f"/api/v1/prediction/contacts/{contacts[0].pk}/feedback/",
        {"kind": "product", "action": "dismissed", "item": "7"},
    )

    assert response.status_code == 201
    event = SuggestionEvent.objects.get()
    assert (event.capability, event.action, event.object_id, event.user) == (
        "prediction",
        "dismissed",
        contacts[0].pk,
        user,
    )
    assert event.detail == {"kind": "product", "item": "7"}


def test_model_version_list_api__two_versions__constant_queries(
    scored, workspace, api_client, prediction_on, django_assert_num_queries
):
    services.model_version_train(workspace=workspace)
    kill_switch_active()  # warm, as it is after any AI job has run
    # workspace, flag (cold cache), versions
    with django_assert_num_queries(3):
        response = api_client.get("/api/v1/prediction/models/")

    assert [v["number"] for v in response.json()["results"]] == [2, 1]


def test_model_version_card_api__flag_on__metrics_and_features(scored, api_client, prediction_on):
    _, version = scored

    data = api_client.get(f"/api/v1/prediction/models/{version.pk}/").json()

    assert data["metrics"]["auc"] == version.metrics["auc"]
    assert data["features"][0] == {
        "name": "Days since the last order",
        "key": "days_since_last_order",
        "coefficient": version.coefficients[0],
    }
    assert all(f["name"] == feature_label(f["key"]) for f in data["features"])


def test_admin_endpoints__non_staff__403(scored, api_client, prediction_on):
    _, version = scored

    assert api_client.post("/api/v1/prediction/models/retrain/").status_code == 403
    assert api_client.post(f"/api/v1/prediction/models/{version.pk}/publish/").status_code == 403
    assert api_client.get(f"/api/v1/prediction/models/{version.pk}/bias/").status_code == 403


def test_retrain_api__staff__new_version_trained_and_scored(
    scored, staff_api_client, prediction_on, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api_client.post("/api/v1/prediction/models/retrain/")

    assert response.status_code == 202
    data = staff_api_client.get("/api/v1/prediction/models/").json()
    assert [v["number"] for v in data["results"]] == [2, 1]
    assert data["results"][0]["is_live"] is True


def test_bias_api__staff__groups_and_warnings(scored, staff_api_client, prediction_on):
    _, version = scored

    data = staff_api_client.get(f"/api/v1/prediction/models/{version.pk}/bias/").json()

    assert {g["attribute"] for g in data["audit"]["groups"]} == {"region", "segment"}


def test_provide_contact_fields__flag_on_off_and_kill_switch(
    scored, rf, user, workspace, enable_capability
):
    contacts, _ = scored
    request = rf.get("/")
    request.user, request.workspace = user, workspace
    # The provider as the registry installed it (the gate in front of it)
    [provider] = [p for p in extensions.providers_for("crmcore.contact") if p.key == "prediction"]
    provide_contact_fields = provider.provide

    assert provide_contact_fields(request, contacts[:2]) == {}
    enable_capability("prediction")
    fields = provide_contact_fields(request, contacts[:2])
    assert set(fields) == {contacts[0].pk, contacts[1].pk}
    assert fields[contacts[0].pk]["churn_band"] in {"low", "medium", "high"}
    with override_switch("ai_kill_switch", active=True):
        assert provide_contact_fields(request, contacts[:2]) == {}


def test_api__anonymous__401_or_403(scored):
    contacts, _ = scored
    response = APIClient().get(f"/api/v1/prediction/contacts/{contacts[0].pk}/")
    assert response.status_code in (401, 403)
    assert reverse("prediction:model-list") == "/ai/prediction/"
