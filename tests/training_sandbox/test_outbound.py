"""Nothing leaves a sandbox: emails and webhooks are recorded as "would have sent"."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from crmcore import factories, outbound
from crmcore import services as crm_services
from crmcore.models import Deal
from training_sandbox.models import SandboxEvent


def record_email(sandbox, recipient: str) -> None:
    outbound.email_send(workspace=sandbox, to=[recipient], subject="Hi", body="x", source="test")


def test_event_listener__production_event__not_kept(workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        crm_services.contact_create(workspace=workspace, first_name="Ada")

    assert SandboxEvent.objects.count() == 0


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
    record_email(sandbox, "r0@example.com")
    client.get("/sandbox/would-have-sent/")  # warms the header's caches
    with CaptureQueriesContext(connection) as one_record:
        client.get("/sandbox/would-have-sent/")
    for n in (1, 2):
        record_email(sandbox, f"r{n}@example.com")

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


def test_would_have_sent_page__email_and_webhook__shown_as_recorded(client, sandbox):
    client.force_login(sandbox.owner)
    record_email(sandbox, "ada@example.com")
    outbound.webhook_send(
        workspace=sandbox,
        url="https://hooks.example.com/in",
        secret="whsec_dGVzdA==",
        message_id="msg_1",
        timestamp=1,
        event="deal.stage_changed",
        body=b"{}",
        payload={},
    )

    response = client.get("/sandbox/would-have-sent/")

    assert [(i.kind, i.recipient, i.subject) for i in response.context["items"]] == [
        ("Webhook", "https://hooks.example.com/in", "deal.stage_changed"),
        ("Email", "ada@example.com", "Hi"),
    ]
    assert b"https://hooks.example.com/in" in response.content
