"""Streamed exports of contacts with the fields API providers add (AI scores).

The extra fields come only through ``crmcore.extensions.providers_for``: each
provider decides (through its own gate) whether the caller gets its fields.
CSV columns are fixed by the first chunk: a provider's columns are included
when it gives fields for the caller there. JSON Lines carry, per contact,
whatever the providers give.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from crmcore import extensions
from crmcore.csv_safety import csv_writer
from crmcore.integrations import selectors
from crmcore.integrations.conf import app_settings
from crmcore.models import Contact, Workspace

BASE_COLUMNS = [
    "id",
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "lifecycle_stage",
    "region",
    "segment",
    "account_id",
    "account_name",
    "account_external_id",
    "team",
    "owner_id",
    "attributes",
    "marketing_opt_out",
    "created_at",
    "updated_at",
]


def _base(contact: Contact) -> dict[str, Any]:
    account = contact.account
    return {
        "id": contact.pk,
        "external_id": contact.external_id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "lifecycle_stage": contact.lifecycle_stage,
        "region": contact.region,
        "segment": contact.segment,
        "account_id": contact.account_id,
        "account_name": account.name if account else "",
        "account_external_id": account.external_id if account else "",
        "team": contact.team.name if contact.team_id else "",
        "owner_id": contact.owner_id,
        "attributes": contact.attributes or {},
        "marketing_opt_out": contact.marketing_opt_out,
        "created_at": contact.created_at.isoformat(),
        "updated_at": contact.updated_at.isoformat(),
    }


def contact_records(
    *, request, workspace: Workspace, chunk_size: int | None = None, contacts=None
) -> Iterator[list[dict[str, Any]]]:
    """Lists of contact dicts, one per chunk, with the providers' fields merged in.

    ``contacts``: a filtered queryset (the contact list's filter or selection).
    """
    providers = extensions.providers_for("crmcore.contact")
    size = chunk_size or app_settings.EXPORT_CHUNK_SIZE
    for chunk in selectors.contact_export_chunks(
        workspace=workspace, chunk_size=size, contacts=contacts
    ):
        records = {contact.pk: _base(contact) for contact in chunk}
        for provider in providers:
            for pk, fields in (provider.provide(request, chunk) or {}).items():
                if pk in records:
                    records[pk].update(fields)
        yield list(records.values())


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv_writer(buffer).writerow(values)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def contacts_csv(
    *, request, workspace: Workspace, chunk_size: int | None = None, contacts=None
) -> Iterator[str]:
    columns: list[str] | None = None
    for records in contact_records(
        request=request, workspace=workspace, chunk_size=chunk_size, contacts=contacts
    ):
        if columns is None:
            extra = sorted({key for record in records for key in record} - set(BASE_COLUMNS))
            columns = BASE_COLUMNS + extra
            yield _csv_line(columns)
        yield "".join(_csv_line([_cell(r.get(c)) for c in columns]) for r in records)
    if columns is None:
        yield _csv_line(BASE_COLUMNS)


def contacts_jsonl(
    *, request, workspace: Workspace, chunk_size: int | None = None
) -> Iterator[str]:
    for records in contact_records(request=request, workspace=workspace, chunk_size=chunk_size):
        yield "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in records)


FORMATS = {
    "csv": (contacts_csv, "text/csv; charset=utf-8"),
    "jsonl": (contacts_jsonl, "application/x-ndjson; charset=utf-8"),
}
