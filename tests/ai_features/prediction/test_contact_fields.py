"""churn_risk and churn_band on the contact API and export, through crmcore field providers."""

from __future__ import annotations

import csv
import io

import pytest
from waffle.testutils import override_switch

from ai_features.capabilities.prediction import services
from ai_features.capabilities.prediction.models import ContactScore
from crmcore import extensions, factories
from tests.ai_features.prediction.helpers import make_history


@pytest.fixture
def scored(workspace, settings):
    """Three contacts with stored scores, one in each band, and one never scored."""
    settings.AI_PREDICTION_MIN_AUC = 0.5
    contacts = [
        factories.ContactFactory(workspace=workspace, account=None, email=f"c{i}@example.com")
        for i in range(4)
    ]
    make_history(workspace, customers=10, churned=10)
    services.model_version_train(workspace=workspace)
    services.contacts_score(workspace=workspace)
    # Known values on the first three, so the assertions are exact.
    for contact, (probability, band) in zip(
        contacts, [(0.1234, "low"), (0.5, "medium"), (0.87654, "high")], strict=False
    ):
        ContactScore.objects.filter(workspace=workspace, contact=contact).update(
            probability=probability, band=band
        )
    ContactScore.objects.filter(workspace=workspace, contact=contacts[3]).delete()
    return contacts


def _read_csv(response) -> dict[str, dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return {row["email"]: row for row in csv.DictReader(io.StringIO(text))}


def _listed(response) -> dict[str, dict]:
    return {item["email"]: item for item in response.json()["results"]}


EXPECTED = {
    "c0@example.com": (0.1234, "low"),
    "c1@example.com": (0.5, "medium"),
    "c2@example.com": (0.8765, "high"),
    "c3@example.com": (None, None),
}


def test_providers_for__label_in_either_case__same_providers():
    by_label = extensions.providers_for("crmcore.Contact")

    assert [p.key for p in by_label] == [p.key for p in extensions.providers_for("crmcore.contact")]
    assert "prediction" in {p.key for p in by_label}


def test_contact_api_list__prediction_on__churn_fields_with_stored_values(
    scored, api_client, prediction_on
):
    items = _listed(api_client.get("/api/v1/contacts/"))

    for email, (risk, band) in EXPECTED.items():
        assert (email, items[email]["churn_risk"], items[email]["churn_band"]) == (
            email,
            risk,
            band,
        )


def test_contact_api_detail__prediction_on__churn_fields_with_stored_values(
    scored, api_client, prediction_on
):
    data = api_client.get(f"/api/v1/contacts/{scored[2].pk}/").json()

    assert (data["churn_risk"], data["churn_band"]) == (0.8765, "high")


def test_contact_export_csv__prediction_on__churn_columns_with_stored_values(
    scored, api_client, prediction_on
):
    rows = _read_csv(api_client.get("/api/v1/exports/contacts.csv"))

    assert (rows["c0@example.com"]["churn_risk"], rows["c0@example.com"]["churn_band"]) == (
        "0.1234",
        "low",
    )
    assert (rows["c2@example.com"]["churn_risk"], rows["c2@example.com"]["churn_band"]) == (
        "0.8765",
        "high",
    )
    assert (rows["c3@example.com"]["churn_risk"], rows["c3@example.com"]["churn_band"]) == ("", "")


def test_contact_api_and_export__prediction_off__no_churn_fields(scored, api_client):
    listed = _listed(api_client.get("/api/v1/contacts/"))
    detail = api_client.get(f"/api/v1/contacts/{scored[0].pk}/").json()
    rows = _read_csv(api_client.get("/api/v1/exports/contacts.csv"))

    assert "churn_risk" not in listed["c0@example.com"]
    assert "churn_band" not in listed["c0@example.com"]
    assert "churn_risk" not in detail
    assert "churn_band" not in rows["c0@example.com"]


def test_contact_api_and_export__kill_switch__no_churn_fields(scored, api_client, prediction_on):
    with override_switch("ai_kill_switch", active=True):
        listed = _listed(api_client.get("/api/v1/contacts/"))
        detail = api_client.get(f"/api/v1/contacts/{scored[0].pk}/").json()
        rows = _read_csv(api_client.get("/api/v1/exports/contacts.csv"))

    assert "churn_risk" not in listed["c0@example.com"]
    assert "churn_band" not in detail
    assert "churn_risk" not in rows["c0@example.com"]
