"""The OpenAPI document validates, and a client driven only by it works against a live server.

The client below knows nothing about PilotCRM: it finds each operation by its
``operationId`` in the served document, fills the path, sends JSON with the
``tokenAuth`` scheme the document declares, and checks request and response
bodies against the document's schemas.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from crmcore import factories
from crmcore.models import Contact
from crmcore.workspaces import production_workspace


class SchemaClient:
    """A generic HTTP client for any OpenAPI 3.0 document, addressed by operationId."""

    def __init__(self, base_url: str, document: dict[str, Any]) -> None:
        self.base_url = base_url.rstrip("/")
        self.document = document
        self.token: str | None = None
        self.operations = {
            operation["operationId"]: (method.upper(), path, operation)
            for path, item in document["paths"].items()
            for method, operation in item.items()
            if isinstance(operation, dict) and "operationId" in operation
        }
        resource = Resource.from_contents(document, default_specification=DRAFT4)
        self.registry = Registry().with_resource("urn:api", resource)

    def check(self, instance: Any, schema: dict[str, Any]) -> None:
        ref = schema.get("$ref")
        if ref:
            schema = {"$ref": "urn:api" + ref}
        OAS30Validator(schema, registry=self.registry).validate(instance)

    def call(self, operation_id: str, *, body: Any = None, **path_params: Any) -> tuple[int, Any]:
        method, path, operation = self.operations[operation_id]
        url = self.base_url + path.format(**path_params)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            self.check(body, operation["requestBody"]["content"]["application/json"]["schema"])
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token and operation.get("security") != [{}]:
            schemes = self.document["components"]["securitySchemes"]
            headers[schemes["tokenAuth"]["name"]] = f"Token {self.token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        content = json.loads(payload) if payload else None
        declared = operation["responses"].get(str(status), {}).get("content", {})
        if "application/json" in declared:
            self.check(content, declared["application/json"]["schema"])
        return status, content


def generated_document() -> dict[str, Any]:
    return json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


@pytest.mark.django_db
def test_openapi_document__generated_by_spectacular__validates():
    document = generated_document()

    validate(document)

    assert document["openapi"].startswith("3.0")
    operation_ids = {
        op["operationId"] for item in document["paths"].values() for op in item.values()
    }
    assert {
        "v1_contacts_list",
        "v1_contacts_create",
        "v1_hooks_create",
        "v1_hooks_destroy",
        "v1_imports_create",
        "v1_exports_contacts_csv",
        "v1_exports_contacts_jsonl",
    } <= operation_ids


@pytest.mark.django_db(transaction=True)
def test_openapi_client__from_the_served_document__lists_and_creates_contacts(live_server):
    # Given: a user, a contact, and the document served by the running server.
    workspace = production_workspace()
    factories.UserFactory(username="integrator", password="s3cret-pass-word")
    existing = factories.ContactFactory(
        workspace=workspace, first_name="Grace", last_name="Hopper", email="grace@example.com"
    )
    with urllib.request.urlopen(f"{live_server.url}/api/schema/?format=json", timeout=30) as r:
        document = json.loads(r.read())
    validate(document)
    client = SchemaClient(live_server.url, document)

    # When: the client logs in, creates a contact and lists them, by operationId only.
    status, token = client.call(
        "v1_auth_token_create", body={"username": "integrator", "password": "s3cret-pass-word"}
    )
    client.token = token["token"]
    created_status, created = client.call(
        "v1_contacts_create",
        body={"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
    )
    list_status, listed = client.call("v1_contacts_list")
    detail_status, detail = client.call("v1_contacts_retrieve", id=created["id"])

    # Then
    assert (status, created_status, list_status, detail_status) == (200, 201, 200, 200)
    ada = Contact.objects.get(email="ada@example.com")
    assert (created["id"], ada.workspace_id) == (ada.pk, workspace.pk)
    assert sorted(item["id"] for item in listed["results"]) == sorted([existing.pk, ada.pk])
    assert (detail["first_name"], detail["last_name"]) == ("Ada", "Lovelace")


@pytest.mark.django_db(transaction=True)
def test_openapi_client__without_token__401(live_server):
    with urllib.request.urlopen(f"{live_server.url}/api/schema/?format=json", timeout=30) as r:
        client = SchemaClient(live_server.url, json.loads(r.read()))

    status, _ = client.call("v1_contacts_list")

    assert status == 401
