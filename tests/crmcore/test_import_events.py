"""Imports tell the rest of the system: one domain event per record, through the outbox."""

from __future__ import annotations

import json
from io import BytesIO, StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from crmcore import events, factories
from crmcore import services as crm_services
from crmcore.integrations import importer, services
from crmcore.integrations.models import ImportRun, WebhookDelivery
from crmcore.models import Contact, Interaction, OutboxEvent

INTERACTIONS = (
    "Who,When,Type,Subject,Notes\n"
    "ada@example.com,2024-03-12 14:30,call,Renewal,Talked about the renewal\n"
    "ada@example.com,2024-03-13 09:00,email,Thanks,Thank you so much\n"
    "nobody@example.com,2024-03-12,call,Lost,\n"
)
INTERACTION_MAPPING = {
    "columns": {
        "Who": "contact_email",
        "When": "occurred_at",
        "Type": "channel",
        "Subject": "subject",
        "Notes": "body",
    }
}
CONTACTS = "First,Email,Stage\nAda,ada@example.com,customer\nBen,ben@example.com,lead\n"
CONTACT_MAPPING = {"columns": {"First": "first_name", "Email": "email", "Stage": "lifecycle_stage"}}


@pytest.fixture
def received():
    """The events the in-process listeners get (what sentiment analysis listens to)."""
    seen: list[events.Event] = []
    events.subscribe(seen.append)
    yield seen
    events.unsubscribe(seen.append)


@pytest.fixture
def hooked(workspace, user, settings):
    """Webhook endpoints on interaction and contact events of the workspace."""
    settings.CRMCORE_WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    for name in ("interaction.created", "contact.created", "contact.updated"):
        services.webhook_subscribe(
            workspace=workspace, owner=user, event=name, target_url="http://127.0.0.1:9/hook"
        )


def import_file(tmp_path: Path, kind: str, text: str, mapping: dict, *extra: str) -> None:
    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    mapping_path = tmp_path / f"{kind}.json"
    mapping_path.write_text(json.dumps(mapping), encoding="utf-8")
    call_command(
        "import_csv",
        kind,
        str(path),
        "--mapping",
        str(mapping_path),
        *extra,
        stdout=StringIO(),
        verbosity=0,
    )


def test_import_csv__interactions__one_event_each_to_listeners_and_subscribers(
    workspace, tmp_path, received, hooked, django_capture_on_commit_callbacks
):
    # Given a contact, a listener and a hook on interaction.created
    factories.ContactFactory(workspace=workspace, email="ada@example.com", external_id="")

    # When two interactions are imported (a third row is rejected)
    with django_capture_on_commit_callbacks(execute=True):
        import_file(tmp_path, "interactions", INTERACTIONS, INTERACTION_MAPPING)

    # Then each one is an event, with the payload the CRM's own service gives
    interactions = list(Interaction.objects.order_by("occurred_at"))
    expected = [crm_services.interaction_payload(i) for i in interactions]
    assert [e.payload for e in received if e.name == "interaction.created"] == expected
    assert [e.notify_subscribers for e in received] == [True, True]
    assert list(OutboxEvent.objects.values_list("name", "payload")) == [
        ("interaction.created", json.loads(json.dumps(p))) for p in expected
    ]
    # and the delivery worker makes one message per interaction for the hook
    services.outbox_events_dispatch()
    assert sorted(
        WebhookDelivery.objects.filter(event="interaction.created").values_list(
            "payload__data__id", flat=True
        )
    ) == sorted(i.pk for i in interactions)


def test_import_csv__quiet__listeners_told_subscribers_not(
    workspace, tmp_path, received, hooked, django_capture_on_commit_callbacks
):
    factories.ContactFactory(workspace=workspace, email="ada@example.com", external_id="")

    with django_capture_on_commit_callbacks(execute=True):
        import_file(tmp_path, "interactions", INTERACTIONS, INTERACTION_MAPPING, "--quiet")

    # The in-process listeners (analysis) still get every interaction ...
    assert sorted(e.payload["id"] for e in received) == sorted(
        Interaction.objects.values_list("pk", flat=True)
    )
    assert [e.notify_subscribers for e in received] == [False, False]
    assert ImportRun.objects.get().notify_subscribers is False
    # ... and the webhook subscribers hear nothing
    assert services.outbox_events_dispatch() == []
    assert WebhookDelivery.objects.count() == 0
    assert OutboxEvent.objects.filter(dispatched_at__isnull=True).count() == 0


def test_import_csv__contacts_created_then_updated__created_and_updated_events(
    workspace, tmp_path, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        import_file(tmp_path, "contacts", CONTACTS, CONTACT_MAPPING)
    changed = CONTACTS.replace("Ben,ben@example.com,lead", "Ben,ben@example.com,customer")
    with django_capture_on_commit_callbacks(execute=True):
        import_file(tmp_path, "contacts", changed, CONTACT_MAPPING)

    ben = Contact.objects.get(email="ben@example.com")
    assert [(e.name, e.payload["email"]) for e in received] == [
        ("contact.created", "ada@example.com"),
        ("contact.created", "ben@example.com"),
        ("contact.updated", "ben@example.com"),
    ]
    assert received[-1].payload == crm_services.contact_payload(ben) | {
        "changed": ["lifecycle_stage"]
    }


def test_run_import__chunks__each_chunk_writes_its_events_with_its_rows(workspace):
    factories.ContactFactory(workspace=workspace, email="ada@example.com", external_id="")
    text = INTERACTIONS.replace("nobody@example.com", "ada@example.com")
    seen: list[tuple[int, int]] = []

    importer.run_import(
        workspace=workspace,
        kind="interactions",
        source=lambda: BytesIO(text.encode()),
        mapping=INTERACTION_MAPPING,
        chunk_size=2,
        on_chunk=lambda result, errors: seen.append(
            (Interaction.objects.count(), OutboxEvent.objects.count())
        ),
    )

    assert seen == [(2, 2), (3, 3)]


def test_run_import__dry_run__no_event(workspace, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        importer.run_import(
            workspace=workspace,
            kind="contacts",
            source=lambda: BytesIO(CONTACTS.encode()),
            mapping=CONTACT_MAPPING,
            dry_run=True,
        )

    assert OutboxEvent.objects.count() == 0
    assert received == []


@pytest.mark.parametrize(("quiet", "notify"), [("on", False), ("", True)])
def test_import_page__do_not_notify_box__stored_on_the_run(
    logged_in_client, workspace, quiet, notify
):
    upload = SimpleUploadedFile("contacts.csv", CONTACTS.encode(), content_type="text/csv")
    data = {"kind": "contacts", "file": upload, "mapping": json.dumps(CONTACT_MAPPING)}
    if quiet:
        data["quiet"] = quiet

    response = logged_in_client.post("/integrations/import/", data)

    assert response.status_code == 302
    assert ImportRun.objects.get().notify_subscribers is notify


@pytest.mark.parametrize(("value", "notify"), [("false", False), (None, True)])
def test_imports_api__notify_subscribers__stored_and_shown(api_client, workspace, value, notify):
    upload = SimpleUploadedFile("contacts.csv", CONTACTS.encode(), content_type="text/csv")
    data = {"kind": "contacts", "file": upload, "mapping": json.dumps(CONTACT_MAPPING)}
    if value is not None:
        data["notify_subscribers"] = value

    response = api_client.post("/api/v1/imports/", data, format="multipart")

    assert response.status_code == 201
    assert response.json()["notify_subscribers"] is notify
    assert ImportRun.objects.get().notify_subscribers is notify
