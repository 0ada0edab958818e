"""REST hooks API: subscribe, list, unsubscribe, delivery log."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crmcore import events, factories
from crmcore.integrations import services
from crmcore.integrations.models import WebhookDelivery, WebhookEndpoint

TARGET = "http://127.0.0.1:9/hook"


@pytest.fixture(autouse=True)
def allow_loopback(settings):
    settings.CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS = True


def make_endpoint(workspace, owner, event="contact.created", url=TARGET) -> WebhookEndpoint:
    return services.webhook_subscribe(workspace=workspace, owner=owner, event=event, target_url=url)


def test_hooks_create__registered_event__returns_id_and_secret_once(api_client, workspace, user):
    response = api_client.post(
        "/api/v1/hooks/", {"event": "deal.stage_changed", "target_url": TARGET}, format="json"
    )

    assert response.status_code == 201
    endpoint = WebhookEndpoint.objects.get()
    body = response.json()
    assert body["id"] == endpoint.pk
    assert body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_")
    assert (body["event"], body["target_url"], body["is_active"]) == (
        "deal.stage_changed",
        TARGET,
        True,
    )
    assert (endpoint.owner, endpoint.workspace) == (user, workspace)
    detail = api_client.get(f"/api/v1/hooks/{endpoint.pk}/").json()
    assert "secret" not in detail


def test_hooks_create__event_registered_later_by_another_app__accepted(
    api_client, workspace, monkeypatch
):
    monkeypatch.setitem(events._events, "contact.churn_risk_high", "Churn risk is high.")

    response = api_client.post(
        "/api/v1/hooks/", {"event": "contact.churn_risk_high", "target_url": TARGET}, format="json"
    )

    assert response.status_code == 201


def test_hooks_create__unknown_event__400(api_client, workspace):
    response = api_client.post(
        "/api/v1/hooks/", {"event": "contact.exploded", "target_url": TARGET}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["event"][0].startswith("Unknown event; one of: ")
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize("url", ["http://127.0.0.1/hook", "http://10.0.0.5/hook"])
def test_hooks_create__private_target_not_allowed__400(api_client, workspace, settings, url):
    settings.CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    response = api_client.post(
        "/api/v1/hooks/", {"event": "contact.created", "target_url": url}, format="json"
    )

    assert response.status_code == 400
    assert "resolves to a private address" in response.json()["target_url"][0]
    assert WebhookEndpoint.objects.count() == 0


def test_hooks_create__anonymous__401(workspace):
    response = APIClient().post(
        "/api/v1/hooks/", {"event": "contact.created", "target_url": TARGET}, format="json"
    )

    assert response.status_code == 401
    assert WebhookEndpoint.objects.count() == 0


def test_hooks_list__callers_hooks_newest_first__no_secrets_fixed_queries(
    api_client, workspace, user, sandbox, django_assert_num_queries
):
    first = make_endpoint(workspace, user)
    second = make_endpoint(workspace, user, event="contact.updated")
    third = make_endpoint(workspace, user, event="interaction.created")
    make_endpoint(workspace, factories.UserFactory())
    make_endpoint(sandbox, user)

    # workspace, page (paged by cursor: no count)
    with django_assert_num_queries(2):
        response = api_client.get("/api/v1/hooks/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [item["id"] for item in results] == [third.pk, second.pk, first.pk]
    assert all("secret" not in item for item in results)


def test_hooks_delete__own_hook__unsubscribed(api_client, workspace, user):
    endpoint = make_endpoint(workspace, user)

    response = api_client.delete(f"/api/v1/hooks/{endpoint.pk}/")

    assert response.status_code == 204
    assert WebhookEndpoint.objects.count() == 0


def test_hooks_delete__another_users_or_workspaces_hook__404(api_client, workspace, sandbox):
    others = make_endpoint(workspace, factories.UserFactory())
    elsewhere = make_endpoint(sandbox, sandbox.owner)

    assert api_client.delete(f"/api/v1/hooks/{others.pk}/").status_code == 404
    assert api_client.delete(f"/api/v1/hooks/{elsewhere.pk}/").status_code == 404
    assert WebhookEndpoint.objects.count() == 2


def test_hooks_deliveries__the_endpoints_log_newest_first(api_client, workspace, user):
    endpoint = make_endpoint(workspace, user)
    old = WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id="msg_old",
        event="contact.created",
        status="succeeded",
        attempts=1,
        last_status_code=200,
        response_excerpt="ok",
    )
    new = WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id="msg_new",
        event="contact.created",
        status="retrying",
        attempts=2,
        last_status_code=500,
        response_excerpt="boom",
    )

    response = api_client.get(f"/api/v1/hooks/{endpoint.pk}/deliveries/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["id"], r["status"], r["attempts"], r["last_status_code"]) for r in rows] == [
        (new.pk, "retrying", 2, 500),
        (old.pk, "succeeded", 1, 200),
    ]
    assert rows[0]["response_excerpt"] == "boom"


def test_hooks_admin__endpoint_and_delivery_pages__200_without_the_secret(
    staff_client, workspace, user
):
    endpoint = make_endpoint(workspace, user)
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, message_id="msg_admin", event="contact.created"
    )

    endpoint_page = staff_client.get(f"/admin/crmcore/webhookendpoint/{endpoint.pk}/change/")
    delivery_page = staff_client.get(f"/admin/crmcore/webhookdelivery/{delivery.pk}/change/")

    assert (endpoint_page.status_code, delivery_page.status_code) == (200, 200)
    assert endpoint.secret.encode() not in endpoint_page.content
    assert staff_client.get("/admin/crmcore/webhookdelivery/").status_code == 200


def test_hooks_admin__target_without_scheme__taken_as_https(rf, staff_user):
    from django.contrib import admin

    from crmcore.integrations.models import WebhookEndpoint

    request = rf.get("/admin/crmcore/webhookendpoint/add/")
    request.user = staff_user
    form_class = admin.site._registry[WebhookEndpoint].get_form(request)
    field = form_class.base_fields["target_url"]

    assert field.clean("hooks.example.com/pilotcrm") == "https://hooks.example.com/pilotcrm"
