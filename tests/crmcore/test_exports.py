"""Streamed contact exports (CSV, JSON Lines) with the fields API providers give the caller."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from rest_framework.test import APIClient

from crmcore import extensions, factories
from crmcore.models import Contact, Interaction


def _churn_scores(request, contacts):
    """A provider standing in for an AI capability: only users named "pilot" get its field."""
    if getattr(request.user, "username", "") != "pilot":
        return {}
    # One query per page, whatever its size.
    counts = dict(
        Interaction.objects.filter(contact__in=contacts)
        .values_list("contact_id")
        .annotate(n=Count("id"))
    )
    return {c.pk: {"churn_risk": round(0.1 * counts.get(c.pk, 0), 2)} for c in contacts}


@pytest.fixture
def only_test_provider(monkeypatch):
    provider = extensions.ApiFieldProvider(
        key="test-churn",
        model_label="crmcore.contact",
        provide=_churn_scores,
        schema={"churn_risk": "Churn risk, 0 to 1"},
    )
    monkeypatch.setattr(extensions.api_field_providers, "_items", {provider.key: provider})
    return provider


@pytest.fixture
def pilot(db):
    return factories.UserFactory(username="pilot")


@pytest.fixture
def contacts(workspace):
    made = [
        factories.ContactFactory(
            workspace=workspace,
            first_name=f"Person{i}",
            last_name="Test",
            email=f"p{i}@example.com",
            external_id=f"C-{i}",
            attributes={"plan": "Pro"} if i == 0 else {},
        )
        for i in range(5)
    ]
    factories.InteractionFactory(workspace=workspace, contact=made[0])
    factories.InteractionFactory(workspace=workspace, contact=made[0])
    return made


def client_for(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def read_csv(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_export_csv__provider_gives_fields__columns_and_values(
    only_test_provider, pilot, contacts, sandbox
):
    factories.ContactFactory(workspace=sandbox, email="elsewhere@example.com")

    response = client_for(pilot).get("/api/v1/exports/contacts.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = read_csv(response)
    assert [r["email"] for r in rows] == [f"p{i}@example.com" for i in range(5)]
    assert list(rows[0])[-1] == "churn_risk"
    assert [r["churn_risk"] for r in rows] == ["0.2", "0.0", "0.0", "0.0", "0.0"]
    assert (rows[0]["external_id"], rows[0]["attributes"]) == ("C-0", '{"plan": "Pro"}')
    assert rows[0]["account_name"] == contacts[0].account.name


def test_export_csv__provider_gives_nothing_to_the_caller__no_ai_columns(
    only_test_provider, user, contacts
):
    response = client_for(user).get("/api/v1/exports/contacts.csv")

    rows = read_csv(response)
    assert len(rows) == 5
    assert "churn_risk" not in rows[0]


def test_export_jsonl__one_object_per_line_with_provider_fields(
    only_test_provider, pilot, user, contacts
):
    pilot_lines = b"".join(
        client_for(pilot).get("/api/v1/exports/contacts.jsonl").streaming_content
    ).splitlines()
    user_lines = b"".join(
        client_for(user).get("/api/v1/exports/contacts.jsonl").streaming_content
    ).splitlines()

    first = json.loads(pilot_lines[0])
    assert len(pilot_lines) == 5
    assert (first["id"], first["email"], first["churn_risk"], first["attributes"]) == (
        contacts[0].pk,
        "p0@example.com",
        0.2,
        {"plan": "Pro"},
    )
    assert "churn_risk" not in json.loads(user_lines[0])


def test_export__query_count__bounded_per_chunk(
    only_test_provider, pilot, contacts, settings, django_assert_num_queries
):
    settings.CRMCORE_EXPORT_CHUNK_SIZE = 2
    api = client_for(pilot)

    # workspace, then per chunk (2 + 2 + 1 contacts): contacts and the provider's query
    with django_assert_num_queries(1 + 3 * 2):
        response = api.get("/api/v1/exports/contacts.jsonl")
        lines = b"".join(response.streaming_content).splitlines()

    assert len(lines) == 5


def test_export__no_contacts__csv_header_only(only_test_provider, pilot, workspace):
    response = client_for(pilot).get("/api/v1/exports/contacts.csv")

    assert b"".join(response.streaming_content).decode().splitlines() == [
        "id,external_id,first_name,last_name,email,phone,lifecycle_stage,region,segment,"
        "account_id,account_name,account_external_id,team,owner_id,attributes,marketing_opt_out,created_at,"
        "updated_at"
    ]


def test_export__anonymous__401(workspace):
    assert APIClient().get("/api/v1/exports/contacts.csv").status_code == 401


def test_export_contacts_command__jsonl_as_user__provider_fields(
    only_test_provider, pilot, contacts, tmp_path
):
    target = tmp_path / "contacts.jsonl"

    call_command("export_contacts", "--format", "jsonl", "--user", "pilot", "--output", str(target))

    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["churn_risk"] for r in records] == [0.2, 0.0, 0.0, 0.0, 0.0]


def test_export_contacts_command__csv_without_user__no_ai_columns(
    only_test_provider, contacts, sandbox
):
    factories.ContactFactory(workspace=sandbox)
    out = StringIO()

    call_command("export_contacts", "--format", "csv", "--chunk-size", "2", stdout=out)

    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 5 == Contact.objects.exclude(workspace=sandbox).count()
    assert "churn_risk" not in rows[0]
