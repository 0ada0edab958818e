"""Contact.marketing_opt_out: form, API, import, export, and the signed unsubscribe link."""

from __future__ import annotations

import io

import pytest
from django.core import signing
from django.urls import reverse

from crmcore import factories, marketing
from crmcore.integrations import exports, importer
from crmcore.models import Contact


def test_contact_form__opt_out_ticked__saved_and_shown(logged_in_client, workspace):
    contact = factories.ContactFactory(workspace=workspace, first_name="Ada", email="ada@x.test")
    url = reverse("contact-edit", args=[contact.pk])
    page = logged_in_client.get(url).content.decode()
    assert 'name="marketing_opt_out"' in page

    response = logged_in_client.post(
        url,
        {
            "first_name": "Ada",
            "email": "ada@x.test",
            "lifecycle_stage": "customer",
            "marketing_opt_out": "on",
        },
    )

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.marketing_opt_out is True
    detail = logged_in_client.get(reverse("contact-detail", args=[contact.pk])).content.decode()
    assert "<dt>Marketing email</dt><dd>Opted out</dd>" in detail


def test_contact_api__opt_out__read_and_written(api_client, workspace):
    contact = factories.ContactFactory(workspace=workspace, first_name="Ada")
    url = f"/api/v1/contacts/{contact.pk}/"
    assert api_client.get(url).json()["marketing_opt_out"] is False

    response = api_client.patch(url, {"marketing_opt_out": True}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["marketing_opt_out"] is True
    contact.refresh_from_db()
    assert contact.marketing_opt_out is True


def test_contact_api__create_opted_out(api_client, workspace):
    response = api_client.post(
        "/api/v1/contacts/",
        {"first_name": "Ben", "email": "ben@x.test", "marketing_opt_out": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Contact.objects.get(email="ben@x.test").marketing_opt_out is True


def _import(workspace, text: str, errors: list | None = None):
    data = text.encode()
    seen: list = errors if errors is not None else []
    return importer.run_import(
        on_chunk=lambda result, chunk_errors: seen.extend(chunk_errors),
        workspace=workspace,
        kind="contacts",
        source=lambda: io.BytesIO(data),
        mapping={
            "columns": {
                "First": "first_name",
                "Email": "email",
                "Unsubscribed": "marketing_opt_out",
            }
        },
    )


def test_import__opt_out_column__yes_no_read_and_bad_value_rejected(workspace):
    errors: list = []
    result = _import(
        errors=errors,
        workspace=workspace,
        text="First,Email,Unsubscribed\n"
        "Ada,ada@x.test,yes\n"
        "Ben,ben@x.test,No\n"
        "Cy,cy@x.test,\n"
        "Di,di@x.test,perhaps\n",
    )

    assert result.counts.as_dict()["created"] == 3
    assert dict(Contact.objects.values_list("first_name", "marketing_opt_out")) == {
        "Ada": True,
        "Ben": False,
        "Cy": False,
    }
    assert [e.reason for e in errors] == [
        "invalid marketing_opt_out 'perhaps' (expected yes or no)"
    ]


def test_import__opt_out_no__updates_an_opted_out_contact_back(workspace):
    factories.ContactFactory(workspace=workspace, email="ada@x.test", marketing_opt_out=True)
    _import(workspace, "First,Email,Unsubscribed\nAda,ada@x.test,no\n")
    assert Contact.objects.get(email="ada@x.test").marketing_opt_out is False


def test_export__opt_out_column(workspace, rf, user):
    factories.ContactFactory(workspace=workspace, email="ada@x.test", marketing_opt_out=True)
    request = rf.get("/")
    request.user, request.workspace = user, workspace
    records = [
        r for chunk in exports.contact_records(request=request, workspace=workspace) for r in chunk
    ]
    assert "marketing_opt_out" in exports.BASE_COLUMNS
    assert [r["marketing_opt_out"] for r in records] == [True]


# The unsubscribe link -------------------------------------------------------------


@pytest.fixture
def ada(workspace):
    return factories.ContactFactory(workspace=workspace, first_name="Ada", email="ada@x.test")


def test_unsubscribe_headers__signed_link_to_the_contact(ada, settings):
    settings.CRMCORE_PUBLIC_URL = "https://crm.example.com/"
    headers = marketing.unsubscribe_headers(workspace_id=ada.workspace_id, contact_id=ada.pk)

    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = headers["List-Unsubscribe"]
    assert link.startswith("<https://crm.example.com/unsubscribe/") and link.endswith("/>")
    token = link.rstrip("/>").rsplit("/", 1)[1]
    assert marketing.unsubscribe_contact(token) == ada


def test_unsubscribe__get_shows_button_without_login_and_changes_nothing(client, ada):
    url = marketing.unsubscribe_url(workspace_id=ada.workspace_id, contact_id=ada.pk)
    response = client.get(url)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Stop sending marketing emails to ada@x.test?" in page
    assert '<button type="submit" class="button">Unsubscribe</button>' in page
    ada.refresh_from_db()
    assert ada.marketing_opt_out is False


def test_unsubscribe__one_click_post__opted_out_and_confirmed(
    client, ada, django_assert_num_queries
):
    client.handler.enforce_csrf_checks = True  # a mail client's POST has no CSRF token
    url = marketing.unsubscribe_url(workspace_id=ada.workspace_id, contact_id=ada.pk)

    response = client.post(url, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    ada.refresh_from_db()
    assert ada.marketing_opt_out is True
    # Again: still confirmed, nothing written.
    with django_assert_num_queries(1):
        assert client.post(url).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "x",
        "not-a-token",
        "a" * 500,
        signing.dumps([1, 2], salt="another.salt"),
        signing.dumps("1:2", salt=marketing.SALT),
        signing.dumps([1, "2"], salt=marketing.SALT),
        signing.dumps([True, 2], salt=marketing.SALT),
        signing.dumps({"w": 1}, salt=marketing.SALT),
        signing.dumps([999999, 999999], salt=marketing.SALT),
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_unsubscribe__forged_or_damaged_token__404(client, ada, token, method):
    response = getattr(client, method)(f"/unsubscribe/{token}/")
    assert response.status_code == 404
    ada.refresh_from_db()
    assert ada.marketing_opt_out is False


def test_unsubscribe__tampered_signature__404(client, ada):
    token = marketing.unsubscribe_token(workspace_id=ada.workspace_id, contact_id=ada.pk)
    other = marketing.unsubscribe_token(workspace_id=ada.workspace_id, contact_id=ada.pk + 1)
    forged = other.split(":")[0] + ":" + token.split(":")[1]
    assert client.post(f"/unsubscribe/{forged}/").status_code == 404


def test_unsubscribe__other_workspace_contact_with_same_id__not_touched(client, ada):
    token = marketing.unsubscribe_token(workspace_id=ada.workspace_id + 1000, contact_id=ada.pk)
    assert client.post(f"/unsubscribe/{token}/").status_code == 404
