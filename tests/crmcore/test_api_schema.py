"""The OpenAPI document: generated without warnings, valid, served with its docs."""

import pytest
import yaml
from django.core.management import call_command

from crmcore import extensions
from crmcore.extensions import ApiFieldProvider


def test_spectacular__validate_fail_on_warn__passes(tmp_path, db):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    for path in [
        "/api/v1/accounts/",
        "/api/v1/contacts/",
        "/api/v1/contacts/{id}/",
        "/api/v1/interactions/",
        "/api/v1/deals/",
        "/api/v1/products/",
        "/api/v1/orders/",
        "/api/v1/campaigns/",
        "/api/v1/teams/",
        "/api/v1/auth/token/",
    ]:
        assert path in schema["paths"]
    assert set(schema["paths"]["/api/v1/teams/"]) == {"get"}
    contact_filters = {p["name"] for p in schema["paths"]["/api/v1/contacts/"]["get"]["parameters"]}
    assert {
        "lifecycle_stage",
        "team",
        "owner",
        "created_after",
        "ordering",
        "search",
    } <= contact_filters


@pytest.mark.django_db
def test_schema_endpoint__provider_registered__field_documented_read_only(staff_api_client):
    provider = ApiFieldProvider(
        key="test-schema-field",
        model_label="crmcore.contact",
        provide=lambda request, objects: {},
        schema={"churn_risk": "Probability the contact churns."},
    )
    extensions.api_field_providers.register(provider)
    try:
        response = staff_api_client.get("/api/schema/", {"format": "json"})
    finally:
        extensions.api_field_providers.unregister(provider.key)
    components = response.json()["components"]["schemas"]
    assert components["Contact"]["properties"]["churn_risk"] == {
        "readOnly": True,
        "description": "Probability the contact churns.",
    }
    assert "churn_risk" not in components["Contact"].get("required", [])
    assert "churn_risk" not in components["ContactRequest"]["properties"]


@pytest.mark.django_db
def test_docs_page__logged_in__swagger_ui_from_own_static_files(staff_client):
    response = staff_client.get("/api/docs/")
    assert response.status_code == 200
    assert (
        b"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in response.content
    )
    assert b"cdn.jsdelivr" not in response.content
