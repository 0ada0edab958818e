"""Property-based API test: schemathesis against the served OpenAPI document.

Every operation of ``/api/schema/`` is called with generated input (valid and
invalid), authenticated with an API token, through the WSGI application. Each
answer must not be a 5xx, must have a status the schema documents, and must
match the documented body. Slow: marked ``schemathesis``, left out of the
default run; run it with ``make test-schemathesis`` (``pytest -m schemathesis``).
``SCHEMATHESIS_MAX_EXAMPLES`` (default 8) bounds the examples per operation.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crmcore import factories
from crmcore.wsgi import application

# Transactional: a request that failed in the database must not poison the next ones.
pytestmark = [pytest.mark.schemathesis, pytest.mark.django_db(transaction=True)]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def token(workspace, settings):
    # Generated calls come fast: no throttle or lockout gets in their way here.
    settings.API_THROTTLE_RATES = dict.fromkeys(("anon", "user", "auth"), "100000/minute")
    settings.AXES_ENABLED = False
    user = factories.StaffUserFactory(username="fuzz")
    contact = factories.ContactFactory(workspace=workspace)
    factories.DealFactory(workspace=workspace, contact=contact)
    factories.InteractionFactory(workspace=workspace, contact=contact)
    return Token.objects.create(user=user).key


@pytest.fixture
def wsgi_app():
    """The WSGI application, keeping the test's database connection between requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _strategy(operation):
    modes = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        try:
            modes.append(operation.as_strategy(generation_mode=mode))
        except Exception:  # an operation with nothing to negate
            continue
    return st.one_of(*modes)


def test_api__generated_requests__no_server_error_and_documented_answers(token, wsgi_app):
    # Given the document the API serves
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    headers = {"Authorization": f"Token {token}"}
    failures: list[str] = []
    operations = 0

    # When every operation is called with generated requests, valid and invalid
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=_strategy(operation))
        @hypothesis_settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def call(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            call()
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {exc}")

    # Then no answer is a server error or outside the schema
    assert operations > 40
    assert failures == [], "\n\n".join(failures)
