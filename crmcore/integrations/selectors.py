"""Reads of the integrations, each scoped to a workspace passed explicitly."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet

from crmcore.integrations.models import (
    ContactAttributeType,
    ImportMapping,
    ImportRowError,
    ImportRun,
    WebhookDelivery,
    WebhookEndpoint,
)
from crmcore.models import Contact, Workspace


def webhook_endpoint_list(*, workspace: Workspace, owner) -> QuerySet[WebhookEndpoint]:
    """The caller's subscriptions in ``workspace``, newest first."""
    return (
        WebhookEndpoint.objects.in_workspace(workspace)
        .filter(owner=owner)
        .order_by("-created_at", "-id")
    )


def webhook_delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")


def import_run_list(*, workspace: Workspace) -> QuerySet[ImportRun]:
    return ImportRun.objects.in_workspace(workspace).select_related("created_by")


def import_run_get(*, workspace: Workspace, pk: int) -> ImportRun | None:
    return import_run_list(workspace=workspace).filter(pk=pk).first()


def import_row_errors(*, run: ImportRun) -> Iterator[ImportRowError]:
    return ImportRowError.objects.filter(run=run).order_by("line", "id").iterator(chunk_size=2000)


def import_mapping_list(*, workspace: Workspace, kind: str = "") -> QuerySet[ImportMapping]:
    mappings = ImportMapping.objects.in_workspace(workspace)
    return mappings.filter(kind=kind) if kind else mappings


def import_mapping_get(*, workspace: Workspace, name: str) -> ImportMapping | None:
    return ImportMapping.objects.in_workspace(workspace).filter(name=name).first()


def contact_export_chunks(
    *, workspace: Workspace, chunk_size: int, contacts=None
) -> Iterator[list[Contact]]:
    """Every contact of ``workspace`` (or of ``contacts``, a filtered queryset of
    it: the contact list's current filter) in id order, ``chunk_size`` at a time.

    Keyset pagination (``id > last``): one query per chunk, whatever the size.
    """
    base = contacts if contacts is not None else Contact.objects.all()
    contacts = base.in_workspace(workspace).select_related("account", "team").order_by("id")
    last_id = 0
    while True:
        chunk = list(contacts.filter(id__gt=last_id)[:chunk_size])
        if not chunk:
            return
        yield chunk
        if len(chunk) < chunk_size:
            return
        last_id = chunk[-1].pk


def contact_attribute_types(*, workspace: Workspace) -> dict[str, tuple[str, str]]:
    """The recorded type and unit of each of the workspace's contact attributes, by key.

    Types are ``date``, ``number``, ``boolean``, ``category`` or ``text``; set
    in an import's mapping or inferred from the imported values.
    """
    rows = ContactAttributeType.objects.in_workspace(workspace).values_list("key", "type", "unit")
    return {key: (type_name, unit) for key, type_name, unit in rows}
