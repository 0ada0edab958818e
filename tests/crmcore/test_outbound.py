"""crmcore sends email and webhooks; from a sandbox it records them, for every sender."""

from __future__ import annotations

import pytest
from django.core import mail

from crmcore import factories, outbound
from crmcore.integrations import services
from crmcore.integrations.models import WebhookDelivery
from crmcore.models import OutboundRecord


def test_email_send__from_sandbox__recorded_not_sent(sandbox):
    outcome = outbound.email_send(
        workspace=sandbox,
        to=["a@example.com", "b@example.com"],
        subject="Hi",
        body="Hello",
        source="campaign 3",
    )

    assert (outcome.sent, outcome.recorded) == (0, 2)
    assert mail.outbox == []
    assert list(
        OutboundRecord.objects.filter(workspace=sandbox)
        .order_by("recipient")
        .values_list("kind", "recipient", "subject", "body", "source")
    ) == [
        ("email", "a@example.com", "Hi", "Hello", "campaign 3"),
        ("email", "b@example.com", "Hi", "Hello", "campaign 3"),
    ]


def test_email_send__from_production__sent_not_recorded(workspace):
    outcome = outbound.email_send(workspace=workspace, to=["a@example.com"], subject="Hi", body="x")

    assert (outcome.sent, outcome.recorded) == (1, 0)
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [(["a@example.com"], "Hi", "x")]
    assert OutboundRecord.objects.count() == 0


def test_emails_send__many_from_sandbox__one_insert(sandbox, django_assert_num_queries):
    emails = [
        outbound.Email(to=(f"r{n}@example.com",), subject=f"S{n}", body="B") for n in range(5)
    ]

    with django_assert_num_queries(3):  # savepoint, one insert, release
        outcome = outbound.emails_send(workspace=sandbox, emails=emails)

    assert outcome.recorded == 5


def test_webhook_send__from_sandbox__recorded_and_no_request(sandbox, monkeypatch):
    def refuse(**kwargs):
        raise AssertionError("a sandbox must not send")

    monkeypatch.setattr(outbound.webhooks, "send", refuse)

    outcome = outbound.webhook_send(
        workspace=sandbox,
        url="https://hooks.example.com/in",
        secret="whsec_dGVzdA==",
        message_id="msg_1",
        timestamp=1,
        event="contact.created",
        body=b'{"data":{"id":1}}',
        payload={"data": {"id": 1}},
    )

    assert (outcome.recorded, outcome.result) == (True, None)
    record = OutboundRecord.objects.get(workspace=sandbox)
    assert (record.kind, record.recipient, record.subject, record.body, record.source) == (
        "webhook",
        "https://hooks.example.com/in",
        "contact.created",
        '{"data":{"id":1}}',
        "webhook",
    )


@pytest.mark.django_db(transaction=True)
def test_webhook_delivery__sandbox_endpoint__recorded_through_outbound(monkeypatch):
    # Given a sandbox with a hook, and a sender that must never be reached
    sandbox = factories.SandboxWorkspaceFactory()
    endpoint = services.webhook_subscribe(
        workspace=sandbox,
        owner=sandbox.owner,
        event="contact.created",
        target_url="https://93.184.215.14/hook",
    )
    monkeypatch.setattr(outbound.webhooks, "send", lambda **kwargs: pytest.fail("sent"))
    contact = factories.ContactFactory(workspace=sandbox)
    from crmcore import events

    events.emit_on_commit("contact.created", workspace=sandbox, payload={"id": contact.pk})

    # When the delivery worker runs
    services.outbox_events_dispatch()
    services.webhook_deliveries_send_due()

    # Then the delivery is "would send" and the trainee's record holds it
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        "would_send",
        0,
        None,
    )
    record = OutboundRecord.objects.get(workspace=sandbox)
    assert (record.kind, record.recipient, record.subject) == (
        "webhook",
        "https://93.184.215.14/hook",
        "contact.created",
    )
    assert record.payload["data"] == {"id": contact.pk}
