"""Signed webhook delivery: Standard Webhooks signatures, retries, disabling, sandbox, targets."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crmcore import events, factories
from crmcore import services as crm_services
from crmcore.integrations import services, webhooks
from crmcore.integrations.models import WebhookDelivery, WebhookEndpoint
from crmcore.models import OutboxEvent

ROOT = Path(__file__).resolve().parents[2]


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
    settings.CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.CRMCORE_WEBHOOKS_RETRY_BASE_SECONDS = 0.05
    settings.CRMCORE_WEBHOOKS_RETRY_MAX_SECONDS = 0.2
    settings.CRMCORE_WEBHOOKS_TIMEOUT_SECONDS = 5
    return settings


def subscribe(workspace, user, url: str, event: str = "contact.created") -> WebhookEndpoint:
    return services.webhook_subscribe(workspace=workspace, owner=user, event=event, target_url=url)


def emit_committed(name: str, workspace, payload: dict) -> None:
    with transaction.atomic():
        events.emit_on_commit(name, workspace=workspace, payload=payload)


def deliver_everything(rounds: int = 20) -> None:
    """The embedded delivery loop's passes, the clock moved past every backoff, until idle."""
    for _ in range(rounds):
        later = timezone.now() + dt.timedelta(days=1)
        dispatched = services.outbox_events_dispatch()
        if not dispatched and not services.webhook_deliveries_send_due(now=later):
            return


def emit_and_deliver(name: str, workspace, payload: dict) -> None:
    emit_committed(name, workspace, payload)
    deliver_everything()


def wait_for_final(delivery_filter: dict, timeout: float = 30.0) -> WebhookDelivery:
    """The delivery once it stops being pending or retrying.

    Through a real worker where a broker is configured; with tasks eager (no
    broker) the embedded delivery loop's passes deliver it.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        deliver_everything()
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

    emit_and_deliver("contact.created", workspace, {"id": 1})

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

    emit_and_deliver("contact.created", workspace, {"id": 1})
    emit_and_deliver("contact.created", workspace, {"id": 2})

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
    webhook_settings.CRMCORE_WEBHOOKS_MAX_CONSECUTIVE_FAILURES = 3
    workspace = factories.WorkspaceFactory(name="Production")
    receiver = receiver_factory(500, 502, 503, 500, 500)
    endpoint = subscribe(workspace, factories.UserFactory(), receiver.url)

    emit_and_deliver("contact.created", workspace, {"id": 1})

    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.disabled_reason) == (
        False,
        "3 consecutive failed deliveries",
    )
    delivery = endpoint.deliveries.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, 503)
    assert delivery.next_attempt_at is None
    assert len(receiver.requests) == 3


@pytest.mark.django_db(transaction=True)
def test_webhook__attempts_exhausted__delivery_failed_endpoint_kept(
    webhook_settings, receiver_factory
):
    webhook_settings.CRMCORE_WEBHOOKS_MAX_ATTEMPTS = 2
    workspace = factories.WorkspaceFactory(name="Production")
    receiver = receiver_factory(500, 500, 500)
    endpoint = subscribe(workspace, factories.UserFactory(), receiver.url)

    emit_and_deliver("contact.created", workspace, {"id": 1})

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

    emit_and_deliver("contact.created", sandbox, {"id": 1})

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

    emit_and_deliver("contact.created", workspace, {"id": 1})

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
    webhook_settings.CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    webhook_settings.CRMCORE_WEBHOOKS_MAX_ATTEMPTS = 1

    emit_and_deliver("contact.created", workspace, {"id": 1})

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
        # IPv6 forms that carry a private IPv4 address
        "http://[64:ff9b::7f00:1]/hook",  # NAT64, well-known prefix: 127.0.0.1
        "http://[64:ff9b::a00:1]/hook",  # NAT64: 10.0.0.1
        "http://[64:ff9b:1::7f00:1]/hook",  # NAT64, local-use prefix
        "http://[64:ff9b:1:7f00:0:100::]/hook",  # local-use prefix, RFC 6052 /48 layout
        "http://[2002:7f00:1::]/hook",  # 6to4: 127.0.0.1
        "http://[2002:c0a8:1::1]/hook",  # 6to4: 192.168.0.1
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
        "http://[2001:0:a00:1::1]/hook",  # Teredo, server 10.0.0.1
        "http://[::7f00:1]/hook",  # IPv4-compatible: 127.0.0.1
        "http://[::ffff:0:a9fe:a9fe]/hook",  # IPv4-translated: 169.254.169.254
        "http://[2606:4700::5efe:a00:1]/hook",  # ISATAP: 10.0.0.1
    ],
)
def test_check_target__private_addresses__refused(settings, url):
    settings.CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    with pytest.raises(webhooks.TargetRefused, match="private address"):
        webhooks.check_target(url)


@pytest.mark.parametrize("url", ["ftp://93.184.215.14/x", "file:///etc/passwd", "http:///x"])
def test_check_target__not_http__refused(url):
    with pytest.raises(webhooks.TargetRefused, match="http or https"):
        webhooks.check_target(url)


def test_check_target__public_address__allowed(settings):
    settings.CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

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
    settings.CRMCORE_WEBHOOKS_RETRY_BASE_SECONDS = 10
    settings.CRMCORE_WEBHOOKS_RETRY_MAX_SECONDS = 100

    delays = {attempt: [services.retry_delay(attempt) for _ in range(50)] for attempt in (1, 3, 6)}

    assert all(5 <= d <= 10 for d in delays[1])
    assert all(20 <= d <= 40 for d in delays[3])
    assert all(50 <= d <= 100 for d in delays[6])
    assert len(set(delays[3])) > 1


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::5db8:d70e", "2002:5db8:d70e::1", "2606:4700:4700::1111", "93.184.215.14"],
)
def test_address_allowed__public_or_carrying_a_public_ipv4__allowed(settings, address):
    settings.CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    assert webhooks.address_allowed(address) is True


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("64:ff9b::7f00:1", ["127.0.0.1"]),
        ("64:ff9b:1:7f00:0:100::", ["127.0.0.1"]),
        ("2002:7f00:1::", ["127.0.0.1"]),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", ["65.54.227.120", "127.0.0.1"]),
        ("::ffff:10.0.0.1", ["10.0.0.1"]),
        ("2606:4700::5efe:a00:1", ["10.0.0.1"]),
        ("2606:4700:4700::1111", []),
    ],
)
def test_embedded_ipv4__each_form__the_carried_addresses(address, carried):
    found = webhooks.embedded_ipv4(webhooks.ipaddress.IPv6Address(address))

    assert [str(ip) for ip in found] == carried


def test_connection__peer_is_nat64_of_loopback__refused_at_connect(settings, monkeypatch):
    # Given a target that resolved to a public address when checked, but whose
    # socket ends up connected to the NAT64 form of 127.0.0.1
    settings.CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    closed = []

    class FakeSocket:
        def getpeername(self):
            return ("64:ff9b::7f00:1", 80, 0, 0)

    connection = webhooks._HTTPConnection("example.com", 80)
    monkeypatch.setattr(
        webhooks.http.client.HTTPConnection,
        "connect",
        lambda self: setattr(self, "sock", FakeSocket()),
    )
    monkeypatch.setattr(connection, "close", lambda: closed.append(True))

    # When it connects, Then the connection is refused and closed
    with pytest.raises(webhooks.TargetRefused, match="connected to a private address"):
        connection.connect()
    assert closed == [True]


# The outbox: no request sends, retries wait, every process sees every hook ----


class HangingReceiver(Receiver):
    """A receiver whose answers block until released (a target that hangs)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        super().__init__([])
        handler = self.server.RequestHandlerClass
        release = self.release

        class Hanging(handler):
            def do_POST(self) -> None:
                release.wait(30)
                super().do_POST()

        self.server.RequestHandlerClass = Hanging

    def close(self) -> None:
        self.release.set()
        super().close()


@pytest.mark.django_db(transaction=True)
def test_contact_create__hook_on_a_hanging_target__nothing_sent_with_the_change(
    webhook_settings, user
):
    # Given a hook on a target that would hang every request
    workspace = factories.WorkspaceFactory(name="Production")
    receiver = HangingReceiver()
    try:
        endpoint = subscribe(workspace, user, receiver.url)

        # When a contact is created (tasks eager: the embedded set-up)
        with transaction.atomic():
            contact = crm_services.contact_create(workspace=workspace, first_name="Ada")
            in_transaction = list(OutboxEvent.objects.values_list("name", "payload__id"))

        # Then the event was written with the change, and nothing was sent or even queued
        assert in_transaction == [("contact.created", contact.pk)]
        assert receiver.requests == []
        assert WebhookDelivery.objects.count() == 0

        # When the delivery loop runs, Then the message goes out from there
        receiver.release.set()
        deliver_everything()
        delivery = endpoint.deliveries.get()
        assert (delivery.status, delivery.attempts) == ("succeeded", 1)
        assert json.loads(receiver.requests[0][1])["data"]["id"] == contact.pk
    finally:
        receiver.close()


def test_api_contact_create__hook_subscribed__no_delivery_in_the_request(
    api_client, workspace, user, settings
):
    settings.CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    subscribe(workspace, user, "http://127.0.0.1:9/hook")

    response = api_client.post("/api/v1/contacts/", {"first_name": "Ada"}, format="json")

    assert response.status_code == 201
    assert list(OutboxEvent.objects.values_list("name", "payload__id", "dispatched_at")) == [
        ("contact.created", response.json()["id"], None)
    ]
    assert WebhookDelivery.objects.count() == 0


def test_emit_on_commit__transaction_rolled_back__no_event_kept(workspace):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit_on_commit("contact.created", workspace=workspace, payload={"id": 1})
        assert OutboxEvent.objects.count() == 1
        raise RuntimeError("the change fails")

    assert OutboxEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_delivery_loop__target_fails__retried_only_after_its_backoff(
    webhook_settings, receiver_factory
):
    # Given a backoff of 10 to 20 seconds before the first retry
    webhook_settings.CRMCORE_WEBHOOKS_RETRY_BASE_SECONDS = 20
    webhook_settings.CRMCORE_WEBHOOKS_RETRY_MAX_SECONDS = 3600
    workspace = factories.WorkspaceFactory(name="Production")
    receiver = receiver_factory(500, 200)
    endpoint = subscribe(workspace, factories.UserFactory(), receiver.url)
    emit_committed("contact.created", workspace, {"id": 1})

    # When the loop makes a first pass
    start = timezone.now()
    services.outbox_events_dispatch()
    assert services.webhook_deliveries_send_due() == 1

    # Then the failure waits 10 to 20 seconds, and a pass before then sends nothing
    delivery = endpoint.deliveries.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("retrying", 1, 500)
    wait = (delivery.next_attempt_at - start).total_seconds()
    assert 10 <= wait <= 21
    assert services.webhook_deliveries_send_due(now=start + dt.timedelta(seconds=9)) == 0
    assert len(receiver.requests) == 1

    # When a pass comes after the backoff, Then the retry succeeds
    assert services.webhook_deliveries_send_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("succeeded", 2, None)
    assert len(receiver.requests) == 2


@pytest.mark.django_db(transaction=True)
def test_delivery_attempt__claimed_by_another_worker__not_sent_twice(
    webhook_settings, receiver_factory
):
    workspace = factories.WorkspaceFactory(name="Production")
    receiver = receiver_factory(200)
    endpoint = subscribe(workspace, factories.UserFactory(), receiver.url)
    emit_committed("contact.created", workspace, {"id": 1})
    (delivery_id,) = services.outbox_events_dispatch()
    now = timezone.now()
    # Another worker claimed it a moment ago
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        next_attempt_at=now + dt.timedelta(seconds=40)
    )

    outcome = services.webhook_delivery_attempt(delivery_id=delivery_id, now=now)

    assert (outcome.attempted, outcome.retry_in) == (False, 40.0)
    assert receiver.requests == []
    assert endpoint.deliveries.get().attempts == 0


@pytest.mark.django_db(transaction=True)
def test_deliver_webhooks_command__once__dispatches_and_sends(webhook_settings, receiver_factory):
    from django.core.management import call_command

    workspace = factories.WorkspaceFactory(name="Production")
    receiver = receiver_factory(200)
    endpoint = subscribe(workspace, factories.UserFactory(), receiver.url)
    emit_committed("contact.created", workspace, {"id": 5})
    out = io.StringIO()

    call_command("deliver_webhooks", "--once", stdout=out)

    assert out.getvalue() == "1 deliveries queued, 1 attempts made\n"
    assert endpoint.deliveries.get().status == "succeeded"
    assert OutboxEvent.objects.get().dispatched_at is not None
    assert len(receiver.requests) == 1


def test_outbox_dispatch__quiet_event__dispatched_without_delivery(workspace, user):
    subscribe(workspace, user, "https://93.184.215.14/hook")
    events.emit_many_on_commit(
        workspace=workspace,
        events=[("contact.created", {"id": 1}), ("contact.created", {"id": 2})],
        notify_subscribers=False,
    )
    events.emit_on_commit("contact.created", workspace=workspace, payload={"id": 3})

    created = services.outbox_events_dispatch()

    assert [d["payload"]["data"]["id"] for d in WebhookDelivery.objects.values("payload")] == [3]
    assert len(created) == 1
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0


def test_outbox_events_prune__old_dispatched__deleted_recent_kept(workspace, settings):
    settings.CRMCORE_OUTBOX_RETENTION_DAYS = 7
    now = timezone.now()
    old, recent, pending = (
        OutboxEvent.objects.create(workspace=workspace, name="contact.created") for _ in range(3)
    )
    OutboxEvent.objects.filter(pk=old.pk).update(dispatched_at=now - dt.timedelta(days=8))
    OutboxEvent.objects.filter(pk=recent.pk).update(dispatched_at=now - dt.timedelta(days=6))

    assert services.outbox_events_prune(now=now) == 1

    assert sorted(OutboxEvent.objects.values_list("pk", flat=True)) == [recent.pk, pending.pk]


# Two processes ---------------------------------------------------------------


def _shared_database_url(tmp_path) -> str:
    """A URL other processes can open for this test's (committed) database."""
    from django.db import connection

    connection.ensure_connection()
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        copy = tmp_path / "shared.sqlite3"
        target = sqlite3.connect(copy)
        connection.connection.backup(target)
        target.close()
        return f"sqlite:///{copy}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _run_django(env: dict[str, str], code: str) -> str:
    script = "import django; django.setup()\n" + textwrap.dedent(code)
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


CREATE_CONTACT_AND_WAIT = """
import time
from crmcore import services
from crmcore.models import OutboxEvent
from crmcore.workspaces import production_workspace
contact = services.contact_create(workspace=production_workspace(), first_name="{name}")
event = OutboxEvent.objects.get(payload__id=contact.pk)
deadline = time.monotonic() + 60
while event.dispatched_at is None and time.monotonic() < deadline:
    time.sleep(0.05)
    event.refresh_from_db()
print(contact.pk, event.dispatched_at is not None)
"""


@pytest.mark.django_db(transaction=True)
def test_delivery_worker__hook_created_in_another_process__gets_the_next_event(
    tmp_path, receiver_factory
):
    # Given a running delivery loop (its own process) that has already
    # handled an event nobody was subscribed to
    receiver = receiver_factory(200)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crmcore.settings",
        "DATABASE_URL": _shared_database_url(tmp_path),
        "CELERY_BROKER_URL": "",
        "REDIS_URL": "",
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
    }
    loop = subprocess.Popen(
        [sys.executable, "manage.py", "deliver_webhooks", "--interval", "0.05"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        first = _run_django(env, CREATE_CONTACT_AND_WAIT.format(name="A"))
        assert first.endswith(" True")

        # When a third process subscribes a hook, and then a contact is created
        _run_django(
            env,
            f"""
            from django.contrib.auth import get_user_model
            from crmcore.integrations import services
            from crmcore.workspaces import production_workspace
            owner = get_user_model().objects.create(username="integrator")
            services.webhook_subscribe(
                workspace=production_workspace(), owner=owner,
                event="contact.created", target_url="{receiver.url}",
            )
            """,
        )
        second = _run_django(env, CREATE_CONTACT_AND_WAIT.format(name="B"))
        second_id = int(second.split()[0])

        # Then the loop, warm since the first event, delivers the second one
        deadline = time.monotonic() + 60
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [json.loads(body)["data"]["id"] for _, body in receiver.requests] == [second_id]
    finally:
        loop.terminate()
        loop.wait(timeout=30)
    assert loop.returncode == 0, loop.stderr.read().decode() if loop.stderr else ""


@pytest.mark.parametrize("url", ["http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/"])
def test_hooks_api__target_is_nat64_or_6to4_of_loopback__400(api_client, workspace, settings, url):
    settings.CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    response = api_client.post(
        "/api/v1/hooks/", {"event": "contact.created", "target_url": url}, format="json"
    )

    assert response.status_code == 400
    assert "resolves to a private address" in response.json()["target_url"][0]
    assert WebhookEndpoint.objects.count() == 0


def test_events_committed__broker_configured__fan_out_queued_with_the_told_events(
    workspace, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from crmcore.integrations import tasks

    settings.CELERY_TASK_ALWAYS_EAGER = False
    queued = []
    monkeypatch.setattr(tasks.outbox_dispatch, "delay", lambda ids: queued.append(ids))

    with django_capture_on_commit_callbacks(execute=True):
        told = events.emit_on_commit("contact.created", workspace=workspace, payload={"id": 1})
        events.emit_many_on_commit(
            workspace=workspace, events=[("contact.created", {"id": 2})], notify_subscribers=False
        )

    assert queued == [[told.id]]


def test_events_committed__no_broker__nothing_queued(
    workspace, monkeypatch, django_capture_on_commit_callbacks
):
    from crmcore.integrations import tasks

    queued = []
    monkeypatch.setattr(tasks.outbox_dispatch, "delay", lambda ids: queued.append(ids))

    with django_capture_on_commit_callbacks(execute=True):
        events.emit_on_commit("contact.created", workspace=workspace, payload={"id": 1})

    assert queued == []
    assert OutboxEvent.objects.get().dispatched_at is None


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
    webhook_settings.CRMCORE_WEBHOOKS_MAX_ATTEMPTS = 2
    workspace = factories.WorkspaceFactory(name="Production")
    receiver = receiver_factory(*statuses)
    subscribe(workspace, factories.UserFactory(), receiver.url)
    before = _deliveries_counted()

    emit_and_deliver("contact.created", workspace, {"id": 1})

    after = _deliveries_counted()
    assert {k: after[k] - before[k] for k in after} == counted
