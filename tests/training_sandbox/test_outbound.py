"""Nothing leaves a sandbox: emails and webhooks are recorded as "would have sent"."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crmcore import events, factories
from crmcore import services as crm_services
from crmcore.models import Deal
from training_sandbox import services
from training_sandbox.models import OutboundRecord, SandboxEvent


def test_email_send__from_sandbox__recorded_not_sent(sandbox):
    sent = services.email_send(
        workspace=sandbox,
        to=["a@example.com", "b@example.com"],
        subject="Hi",
        body="Hello",
        source="campaign",
    )

    assert sent == 0
    assert mail.outbox == []
    assert sorted(
        OutboundRecord.objects.filter(workspace=sandbox).values_list("recipient", "kind")
    ) == [("a@example.com", "email"), ("b@example.com", "email")]


def test_email_send__from_production__sent_not_recorded(workspace):
    sent = services.email_send(workspace=workspace, to=["a@example.com"], subject="Hi", body="x")

    assert sent == 1
    assert [m.to for m in mail.outbox] == [["a@example.com"]]
    assert OutboundRecord.objects.count() == 0


def test_outbound_record__production__refused(workspace):
    with pytest.raises(ValidationError):
        services.outbound_record(workspace=workspace, kind="email", recipient="a@example.com")


def test_outbound_email_event__in_sandbox__recorded(sandbox):
    events.emit(
        "outbound.email",
        workspace=sandbox,
        payload={
            "to": "c@example.com",
            "subject": "We miss you",
            "body": "Come back",
            "source": "personalization",
        },
    )

    record = OutboundRecord.objects.get(workspace=sandbox)
    assert (record.kind, record.recipient, record.subject, record.source) == (
        "email",
        "c@example.com",
        "We miss you",
        "personalization",
    )


def test_event_listener__production_event__not_recorded(workspace):
    events.emit("outbound.email", workspace=workspace, payload={"to": "c@example.com"})

    assert SandboxEvent.objects.count() == 0
    assert OutboundRecord.objects.count() == 0


def test_event_listener__sandbox_deal_moved__event_kept(
    sandbox, django_capture_on_commit_callbacks
):
    deal = factories.DealFactory(workspace=sandbox, stage=Deal.Stage.QUALIFIED)

    with django_capture_on_commit_callbacks(execute=True):
        crm_services.deal_stage_change(deal=deal, stage=Deal.Stage.PROPOSAL)

    event = SandboxEvent.objects.get(workspace=sandbox)
    assert (event.name, event.payload["from_stage"], event.payload["to_stage"]) == (
        "deal.stage_changed",
        "qualified",
        "proposal",
    )


def test_would_have_sent_page__records__listed_in_fixed_queries(
    client, sandbox, django_assert_num_queries
):
    client.force_login(sandbox.owner)
    services.outbound_record(workspace=sandbox, kind="email", recipient="r0@example.com")
    client.get("/sandbox/would-have-sent/")  # warms the header's caches
    with CaptureQueriesContext(connection) as one_record:
        client.get("/sandbox/would-have-sent/")
    for n in (1, 2):
        services.outbound_record(workspace=sandbox, kind="email", recipient=f"r{n}@example.com")

    with django_assert_num_queries(len(one_record)):
        response = client.get("/sandbox/would-have-sent/")

    assert response.status_code == 200
    assert [item.recipient for item in response.context["items"]] == [
        "r2@example.com",
        "r1@example.com",
        "r0@example.com",
    ]


def test_would_have_sent_page__no_sandbox__404(logged_in_client):
    assert logged_in_client.get("/sandbox/would-have-sent/").status_code == 404
