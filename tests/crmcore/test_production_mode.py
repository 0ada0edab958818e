"""Production mode: CSP header, the API docs behind login, pages without collectstatic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]


def policy(response) -> dict[str, list[str]]:
    directives = response["Content-Security-Policy"].split(";")
    return {d.split()[0]: d.split()[1:] for d in (d.strip() for d in directives) if d}


# --------------------------------------------------------------------------- CSP


def test_csp__login_page__no_inline_script_allowed(client, db):
    response = client.get("/login/")

    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'self'"]


def test_csp__api_docs__inline_style_carries_the_nonce_of_the_header(logged_in_client):
    response = logged_in_client.get("/api/docs/")

    nonce = re.search(r'<style nonce="([^"]+)">', response.content.decode()).group(1)
    assert policy(response)["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert "<script>" not in response.content.decode()


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def test_templates__no_inline_script_or_event_handler():
    # The policy forbids them: the browser would ignore them.
    templates = [
        path
        for app in ("crmcore", "ai_features", "training_sandbox")
        for path in (ROOT / app).rglob("templates/**/*.html")
    ]
    offending = [
        str(path.relative_to(ROOT))
        for path in templates
        if INLINE_SCRIPT.search(path.read_text()) or INLINE_HANDLER.search(path.read_text())
    ]

    assert len(templates) > 20
    assert offending == []


# --------------------------------------------------------------------------- API docs


@pytest.fixture
def docs_behind_login(settings):
    settings.API_DOCS_REQUIRE_LOGIN = True


def test_schema__login_required_anonymous__401(docs_behind_login, db):
    assert APIClient().get("/api/schema/").status_code == 401


def test_docs__login_required_anonymous__sent_to_login(docs_behind_login, client, db):
    page = client.get("/api/docs/")
    script = client.get("/api/docs/", {"script": ""})

    assert (page.status_code, page["Location"]) == (302, "/login/?next=/api/docs/")
    assert script.status_code in (401, 403)


def test_schema_and_docs__login_required_logged_in__200(docs_behind_login, logged_in_client):
    assert logged_in_client.get("/api/schema/").status_code == 200
    assert logged_in_client.get("/api/docs/").status_code == 200
    assert logged_in_client.get("/api/docs/", {"script": ""}).status_code == 200


def test_schema_and_docs__login_not_required__open(settings, client, db):
    settings.API_DOCS_REQUIRE_LOGIN = False

    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


# --------------------------------------------------------------------------- static files


def test_pages__manifest_storage_without_collectstatic__render(settings, client, db, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "crmcore.storage.StaticFilesStorage"},
    }

    response = client.get("/login/")

    assert response.status_code == 200
    assert '<link rel="stylesheet" href="/static/crmcore/app.css">' in response.content.decode()


def test_pages__manifest_storage_after_collectstatic__hashed_names(settings, client, db, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "crmcore.storage.StaticFilesStorage"},
    }
    manifest = settings.STATIC_ROOT / "staticfiles.json"
    manifest.parent.mkdir()
    manifest.write_text(
        '{"version": "1.1", "paths": {"crmcore/app.css": "crmcore/app.0123abcd.css"}}'
    )

    response = client.get("/login/")

    assert 'href="/static/crmcore/app.0123abcd.css"' in response.content.decode()
