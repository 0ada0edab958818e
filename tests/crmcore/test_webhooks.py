"""Signed webhook delivery: Standard Webhooks signatures, retries, disabling, sandbox, targets."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crmcore import events, factories
from crmcore.integrations import services, webhooks
from crmcore.integrations.models import WebhookDelivery, WebhookEndpoint


class Receiver:
    """An HTTP server on 127.0.0.1 that records requests and answers given status codes."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(f"answer {status}".encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory():
    made: list[Receiver] = []

    def make(*statuses: int) -> Receiver:
        receiver = Receiver(list(statuses))
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def webhook_settings(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 0.05
    settings.WEBHOOKS_RETRY_MAX_SECONDS = 0.2
    settings.WEBHOOKS_TIMEOUT_SECONDS = 5
    return settings


def subscribe(workspace, user, url: str, event: str = "contact.created") -> WebhookEndpoint:
    return services.webhook_subscribe(workspace=workspace, owner=user, event=event, target_url=url)


def emit_committed(name: str, workspace, payload: dict) -> None:
    with transaction.atomic():
        events.emit_on_commit(name, workspace=workspace, payload=payload)


def wait_for_final(delivery_filter: dict, timeout: float = 30.0) -> WebhookDelivery:
    """The delivery once it stops being pending or retrying (at once when tasks run eagerly)."""
    deadline = time.monotonic() + timeout
    while True:
        delivery = WebhookDelivery.objects.filter(**delivery_filter).first()
        if delivery and delivery.status not in ("pending", "retrying"):
            return delivery
        if time.monotonic() > deadline:
            return delivery
        time.sleep(0.05)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_webhook__target_answers_500_then_200__retried_and_signature_verifies(
    webhook_settings, receiver_factory
):
    # Given: an endpoint on a local server that fails once.
    workspace = factories.WorkspaceFactory(name="Production")
    user = factories.UserFactory(username="integrator")
    receiver = receiver_factory(500, 200)
    endpoint = subscribe(workspace, user, receiver.url)

    # When: a contact is created (the event is emitted after commit).
    emit_committed("contact.created", workspace, {"id": 7, "email": "ada@example.com"})

    # Then: two attempts with the same id, the second one verifying.
    delivery = wait_for_final({"endpoint": endpoint})
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "succeeded",
        2,
        200,
    )
    assert delivery.response_excerpt == "answer 200"
    assert len(receiver.requests) == 2
    (first_headers, first_body), (headers, body) = receiver.requests
    assert first_headers["webhook-id"] == headers["webhook-id"] == delivery.message_id
    assert first_body == body
    verified = Webhook(endpoint.secret).verify(body, headers)
    assert verified == {
        "type": "contact.created",
        "timestamp": delivery.payload["timestamp"],
        "data": {"id": 7, "email": "ada@example.com"},
    }
    assert headers["webhook-signature"].startswith("v1,")
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.consecutive_failures) == (True, 0)


@pytest.mark.django_db(transaction=True)
def test_webhook__tampered_body__fails_verification(webhook_settings, receiver_factory):
    workspace = factories.WorkspaceFactory(name="Production")
    receiver = receiver_factory(200)
    endpoint = subscribe(workspace, factories.UserFactory(), receiver.url)

    emit_committed("contact.created", workspace, {"id": 1})

    headers, body = receiver.requests[0]
    with pytest.raises(WebhookVerificationError, match="No matching signature found"):
        Webhook(endpoint.secret).verify(body.replace(b'"id":1', b'"id":2'), headers)


@pytest.mark.django_db(transaction=True)
def test_webhook__target_answers_410__endpoint_disabled_without_retry(
    webhook_settings, receiver_factory
):
    workspace = factories.WorkspaceFactory(name="Production")
    receiver = receiver_factory(410)
    endpoint = subscribe(workspace, factories.UserFactory(), receiver.url)

    emit_committed("contact.created", workspace, {"id": 1})
    emit_committed("contact.created", workspace, {"id": 2})

    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (
        False,
        "The target answered 410 Gone",
    )
    delivery = endpoint.deliveries.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, 410)
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_webhook__consecutive_failures_reach_the_limit__endpoint_disabled(
    webhook_settings, receiver_factory
):
    webhook_settings.WEBHOOKS_MAX_CONSECUTIVE_FAILURES = 3
    workspace = factories.WorkspaceFactory(name="Production")
    receiver = receiver_factory(500, 502, 503, 500, 500)
    endpoint = subscribe(workspace, factories.UserFactory(), receiver.url)

    emit_committed("contact.created", workspace, {"id": 1})

    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (
        False,
        "3 consecutive failed deliveries",
    )
    delivery = endpoint.deliveries.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 503)
    assert delivery.next_retry_at is None
    assert len(receiver.requests) == 3


@pytest.mark.django_db(transaction=True)
def test_webhook__attempts_exhausted__delivery_failed_endpoint_kept(
    webhook_settings, receiver_factory
):
    webhook_settings.WEBHOOKS_MAX_ATTEMPTS = 2
    workspace = factories.WorkspaceFactory(name="Production")
    receiver = receiver_factory(500, 500, 500)
    endpoint = subscribe(workspace, factories.UserFactory(), receiver.url)

    emit_committed("contact.created", workspace, {"id": 1})

    endpoint.refresh_from_db()
    delivery = endpoint.deliveries.get()
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert (endpoint.is_active, endpoint.consecutive_failures) == (True, 2)
    assert len(receiver.requests) == 2


@pytest.mark.django_db(transaction=True)
def test_webhook__sandbox_workspace__recorded_as_would_send_and_not_sent(
    webhook_settings, receiver_factory
):
    sandbox = factories.SandboxWorkspaceFactory()
    receiver = receiver_factory(200)
    endpoint = subscribe(sandbox, sandbox.owner, receiver.url)

    emit_committed("contact.created", sandbox, {"id": 1})

    delivery = endpoint.deliveries.get()
    assert (delivery.status, delivery.attempts) == ("would_send", 0)
    assert delivery.payload["data"] == {"id": 1}
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_webhook__other_event_or_workspace__nothing_delivered(webhook_settings, receiver_factory):
    workspace = factories.WorkspaceFactory(name="Production")
    other = factories.WorkspaceFactory(name="Other")
    receiver = receiver_factory()
    user = factories.UserFactory()
    subscribe(workspace, user, receiver.url, event="contact.updated")
    subscribe(other, user, receiver.url, event="contact.created")

    emit_committed("contact.created", workspace, {"id": 1})

    assert WebhookDelivery.objects.count() == 0
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_webhook__private_target_at_delivery__refused_and_not_sent(
    webhook_settings, receiver_factory
):
    # Given: an endpoint accepted while private targets were allowed, then the setting is off.
    workspace = factories.WorkspaceFactory(name="Production")
    receiver = receiver_factory(200)
    endpoint = subscribe(workspace, factories.UserFactory(), receiver.url)
    webhook_settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    webhook_settings.WEBHOOKS_MAX_ATTEMPTS = 1

    emit_committed("contact.created", workspace, {"id": 1})

    delivery = endpoint.deliveries.get()
    assert (delivery.status, delivery.last_status_code) == ("failed", None)
    assert delivery.last_error == "The host '127.0.0.1' resolves to a private address"
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_check_target__private_addresses__refused(settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    with pytest.raises(webhooks.TargetRefused, match="private address"):
        webhooks.check_target(url)


@pytest.mark.parametrize("url", ["ftp://93.184.215.14/x", "file:///etc/passwd", "http:///x"])
def test_check_target__not_http__refused(url):
    with pytest.raises(webhooks.TargetRefused, match="http or https"):
        webhooks.check_target(url)


def test_check_target__public_address__allowed(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    assert webhooks.check_target("https://93.184.215.14/hook") is None


def test_sign__same_as_the_reference_implementation():
    secret = webhooks.new_secret()
    body = json.dumps({"type": "contact.created", "data": {"id": 1}}).encode()
    timestamp = int(time.time())

    signature = webhooks.sign(secret=secret, message_id="msg_1", timestamp=timestamp, body=body)

    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
    assert Webhook(secret).verify(body, headers) == {"type": "contact.created", "data": {"id": 1}}
    assert secret.startswith("whsec_")


def test_retry_delay__exponential_capped_with_jitter(settings):
    settings.WEBHOOKS_RETRY_BASE_SECONDS = 10
    settings.WEBHOOKS_RETRY_MAX_SECONDS = 100

    delays = {attempt: [services.retry_delay(attempt) for _ in range(50)] for attempt in (1, 3, 6)}

    assert all(5 <= d <= 10 for d in delays[1])
    assert all(20 <= d <= 40 for d in delays[3])
    assert all(50 <= d <= 100 for d in delays[6])
    assert len(set(delays[3])) > 1


def test_deliveries_create__no_endpoint_subscribed__warm_check_makes_no_query(
    workspace, django_assert_num_queries
):
    # Given a warm "who is subscribed" cache and no endpoint
    event = events.Event(name="contact.created", workspace_id=workspace.pk, payload={"id": 1})
    assert services.webhook_deliveries_create(event=event) == []
    # When the same event comes again, Then no query is made
    with django_assert_num_queries(0):
        assert services.webhook_deliveries_create(event=event) == []


def test_deliveries_create__endpoint_created_after_warm_cache__gets_the_delivery(workspace, user):
    event = events.Event(name="contact.created", workspace_id=workspace.pk, payload={"id": 1})
    assert services.webhook_deliveries_create(event=event) == []
    WebhookEndpoint.objects.create(
        workspace=workspace,
        owner=user,
        event="contact.created",
        target_url="http://127.0.0.1:9/hook",
        secret="whsec_dGVzdA==",
    )
    assert len(services.webhook_deliveries_create(event=event)) == 1


def _deliveries_counted() -> dict[str, float]:
    from prometheus_client import REGISTRY

    return {
        outcome: REGISTRY.get_sample_value(
            "pilotcrm_webhook_deliveries_total", {"outcome": outcome}
        )
        or 0.0
        for outcome in ("succeeded", "retrying", "failed")
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("statuses", "counted"),
    [
        ((500, 200), {"succeeded": 1, "retrying": 1, "failed": 0}),
        ((500, 500), {"succeeded": 0, "retrying": 1, "failed": 1}),
    ],
)
def test_webhook__attempts__outcomes_counted_for_metrics(
    webhook_settings, receiver_factory, statuses, counted
):
    webhook_settings.WEBHOOKS_MAX_ATTEMPTS = 2
    workspace = factories.WorkspaceFactory(name="Production")
    receiver = receiver_factory(*statuses)
    subscribe(workspace, factories.UserFactory(), receiver.url)
    before = _deliveries_counted()

    emit_committed("contact.created", workspace, {"id": 1})

    after = _deliveries_counted()
    assert {k: after[k] - before[k] for k in after} == counted
