"""Per-kind writers: match a chunk of clean rows to existing records, write it in bulk."""

from __future__ import annotations

import abc
import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from crmcore import services as crm_services
from crmcore.events import emit_many_on_commit
from crmcore.integrations.conf import app_settings
from crmcore.integrations.importing.converting import CleanRow
from crmcore.integrations.importing.results import ImportCounts, RowError
from crmcore.integrations.importing.specs import KindSpec
from crmcore.models import Account, Contact, Interaction, Order, Workspace


class Writer(abc.ABC):
    """Matches a chunk of clean rows to existing records and writes it."""

    stored_fields: tuple[str, ...] = ()
    #: The domain events of created and updated records ("" where the kind has none).
    created_event: str = ""
    updated_event: str = ""

    def __init__(
        self, workspace: Workspace, spec: KindSpec, dry_run: bool, notify_subscribers: bool = True
    ) -> None:
        self.workspace = workspace
        self.spec = spec
        self.dry_run = dry_run
        self.notify_subscribers = notify_subscribers
        self.seen: dict[str, int] = {}  # key -> line of the first row with it
        self.matched: dict[int, int] = {}  # existing pk -> line that matched it

    def snapshot(self) -> Any:
        """What :meth:`restore` needs to undo a chunk that was rolled back."""
        return dict(self.seen), dict(self.matched)

    def restore(self, state: Any) -> None:
        self.seen, self.matched = (dict(part) for part in state)

    @abc.abstractmethod
    def keys(self, row: CleanRow) -> list[str]:
        """Keys that identify a record: "x:<external id>", "e:<email>", ..."""

    @abc.abstractmethod
    def lookup(self, rows: list[CleanRow]) -> dict[str, Any]:
        """Existing records of the chunk, by key."""

    def resolve(self, rows: list[CleanRow], errors: list[RowError]) -> list[CleanRow]:
        """Resolve references (account, contact); rows that cannot are rejected."""
        return rows

    def build(self, row: CleanRow) -> Any:
        """A new record; fields left empty keep the model's defaults."""
        values = {
            name: row.values[name]
            for name in self.stored_fields
            if row.values.get(name) not in (None, "")
        }
        return self.spec.model(workspace=self.workspace, **values)

    def refusal(self, row: CleanRow, obj: Any, existing: dict[str, Any]) -> str | None:
        """Why the row cannot update ``obj`` (another of its keys is another record's), or None."""
        return None

    def changes(self, obj: Any, row: CleanRow) -> list[str]:
        changed = []
        for name in self.stored_fields:
            value = row.values.get(name)
            if value in (None, ""):
                continue
            if getattr(obj, name) != value:
                setattr(obj, name, value)
                changed.append(name)
        return changed

    def payload(self, obj: Any) -> dict[str, Any]:
        """The payload of the record's events (the one the CRM's services emit)."""
        return {}

    def emit(self, created: list[Any], updated: list[tuple[Any, list[str]]]) -> None:
        """The chunk's domain events, one per record, written to the outbox in one insert."""
        events = [(self.created_event, self.payload(obj)) for obj in created if self.created_event]
        events += [
            (self.updated_event, self.payload(obj) | {"changed": sorted(changed)})
            for obj, changed in updated
            if self.updated_event
        ]
        emit_many_on_commit(
            workspace=self.workspace, events=events, notify_subscribers=self.notify_subscribers
        )

    def write_chunk(
        self, chunk: list[CleanRow], counts: ImportCounts, errors: list[RowError]
    ) -> None:
        fresh: list[CleanRow] = []
        for row in self.resolve(chunk, errors):
            row.keys = self.keys(row)
            duplicate = next((k for k in row.keys if k in self.seen), None)
            if duplicate is not None:
                errors.append(
                    RowError(
                        row.line,
                        f"duplicate of line {self.seen[duplicate]} ({_key_label(duplicate)})",
                    )
                )
                continue
            for key in row.keys:
                self.seen[key] = row.line
            fresh.append(row)
        existing = self.lookup(fresh) if fresh else {}
        to_create, to_update, update_fields = [], [], set()
        changes: list[tuple[Any, list[str]]] = []
        for row in fresh:
            obj = next((existing[k] for k in row.keys if k in existing), None)
            if obj is None:
                to_create.append(self.build(row))
                counts.created += 1
                continue
            refused = self.refusal(row, obj, existing)
            if refused:
                errors.append(RowError(row.line, refused))
                continue
            if obj.pk in self.matched:
                errors.append(
                    RowError(row.line, f"duplicate of line {self.matched[obj.pk]} (same record)")
                )
                continue
            self.matched[obj.pk] = row.line
            changed = self.changes(obj, row)
            if changed:
                to_update.append(obj)
                changes.append((obj, changed))
                update_fields.update(changed)
                counts.updated += 1
            else:
                counts.unchanged += 1
        if to_create:
            self.spec.model.objects.bulk_create(to_create)
        if to_update:
            if hasattr(self.spec.model, "updated_at"):
                now = timezone.now()
                for obj in to_update:
                    obj.updated_at = now
                update_fields.add("updated_at")
            self.spec.model.objects.bulk_update(to_update, sorted(update_fields))
        self.emit(to_create, changes)


def _key_label(key: str) -> str:
    labels = {"x": "same external_id", "e": "same email", "n": "same name"}
    return labels.get(key[0], "same contact and time")


class AccountWriter(Writer):
    stored_fields = ("name", "domain", "industry", "region", "external_id")

    def keys(self, row: CleanRow) -> list[str]:
        keys = []
        if row.values.get("external_id"):
            keys.append(f"x:{row.values['external_id']}")
        keys.append(f"n:{row.values['name']}")
        return keys

    def lookup(self, rows: list[CleanRow]) -> dict[str, Any]:
        ext = {r.values["external_id"] for r in rows if r.values.get("external_id")}
        names = {r.values["name"] for r in rows}
        found: dict[str, Any] = {}
        scoped = Account.objects.in_workspace(self.workspace)
        for account in scoped.filter(name__in=names).order_by("id"):
            found.setdefault(f"n:{account.name}", account)
        if ext:
            for account in scoped.filter(external_id__in=ext).order_by("id"):
                found.setdefault(f"x:{account.external_id}", account)
        return found


class ContactWriter(Writer):
    created_event = "contact.created"
    updated_event = "contact.updated"
    stored_fields = (
        "first_name",
        "last_name",
        "email",
        "phone",
        "lifecycle_stage",
        "region",
        "segment",
        "external_id",
        "account_id",
        "marketing_opt_out",
        "do_not_profile",
    )

    def payload(self, obj: Any) -> dict[str, Any]:
        return crm_services.contact_payload(obj)

    def keys(self, row: CleanRow) -> list[str]:
        keys = []
        if row.values.get("external_id"):
            keys.append(f"x:{row.values['external_id']}")
        if row.values.get("email"):
            keys.append(f"e:{row.values['email']}")
        return keys

    def resolve(self, rows: list[CleanRow], errors: list[RowError]) -> list[CleanRow]:
        ext = {r.values["account_external_id"] for r in rows if r.values.get("account_external_id")}
        names = {r.values["account_name"] for r in rows if r.values.get("account_name")}
        if not ext and not names:
            return rows
        scoped = Account.objects.in_workspace(self.workspace).order_by("id")
        by_ext: dict[str, int] = {}
        by_name: dict[str, int] = {}
        if ext:
            for pk, key in scoped.filter(external_id__in=ext).values_list("pk", "external_id"):
                by_ext.setdefault(key, pk)
        if names:
            for pk, key in scoped.filter(name__in=names).values_list("pk", "name"):
                by_name.setdefault(key, pk)
        kept = []
        for row in rows:
            ext_id, name = (
                row.values.pop("account_external_id", ""),
                row.values.pop("account_name", ""),
            )
            if ext_id:
                if ext_id not in by_ext:
                    errors.append(RowError(row.line, f"no account with external_id {ext_id!r}"))
                    continue
                row.values["account_id"] = by_ext[ext_id]
            elif name:
                if name not in by_name:
                    errors.append(RowError(row.line, f"no account named {name!r}"))
                    continue
                row.values["account_id"] = by_name[name]
            kept.append(row)
        return kept

    def build(self, row: CleanRow) -> Any:
        row.values.pop("account_external_id", None)
        row.values.pop("account_name", None)
        contact = super().build(row)
        contact.attributes = dict(row.attributes)
        return contact

    def refusal(self, row: CleanRow, obj: Any, existing: dict[str, Any]) -> str | None:
        email = row.values.get("email")
        other = existing.get(f"e:{email}") if email else None
        if other is not None and other.pk != obj.pk:
            return (
                f"email {email!r} belongs to another contact (id {other.pk}) than "
                f"external_id {row.values['external_id']!r} (id {obj.pk})"
            )
        if row.attributes:
            keys = len(set(obj.attributes or {}) | set(row.attributes))
            most = app_settings.IMPORT_MAX_ATTRIBUTE_KEYS
            if keys > most:
                return (
                    f"would give contact {obj.pk} {keys} attributes; a contact has at most {most}"
                )
        return None

    def changes(self, obj: Any, row: CleanRow) -> list[str]:
        if row.values.get("email") and row.values["email"] == (obj.email or "").lower():
            row.values["email"] = obj.email  # the same address: its stored case is kept
        changed = super().changes(obj, row)
        if row.attributes:
            merged = {**(obj.attributes or {}), **row.attributes}
            if merged != obj.attributes:
                obj.attributes = merged
                changed.append("attributes")
        return changed

    def lookup(self, rows: list[CleanRow]) -> dict[str, Any]:
        ext = {r.values["external_id"] for r in rows if r.values.get("external_id")}
        emails = {r.values["email"] for r in rows if r.values.get("email")}
        match = Q(external_id__in=ext) if ext else Q()
        if emails:
            # Emails are cleaned to lower case; stored ones are compared as the
            # unique constraint compares them (lower case, in the database).
            match = match | Q(email_lower__in=emails) if ext else Q(email_lower__in=emails)
        found: dict[str, Any] = {}
        if not ext and not emails:
            return found
        contacts = list(
            Contact.objects.in_workspace(self.workspace)
            .alias(email_lower=Lower("email"))
            .filter(match)
            .order_by("id")
        )
        # External ids first: a row matches by external id before email.
        for contact in contacts:
            if contact.external_id in ext:
                found.setdefault(f"x:{contact.external_id}", contact)
        for contact in contacts:
            if contact.email and contact.email.lower() in emails:
                found.setdefault(f"e:{contact.email.lower()}", contact)
        return found


class ContactChildWriter(Writer):
    """Interactions and orders: rows name their contact by external id or email."""

    def resolve(self, rows: list[CleanRow], errors: list[RowError]) -> list[CleanRow]:
        ext = {r.values["contact_external_id"] for r in rows if r.values.get("contact_external_id")}
        emails = {r.values["contact_email"] for r in rows if r.values.get("contact_email")}
        scoped = Contact.objects.in_workspace(self.workspace).order_by("id")
        by_ext: dict[str, int] = {}
        by_email: dict[str, int] = {}
        if ext:
            for pk, key in scoped.filter(external_id__in=ext).values_list("pk", "external_id"):
                by_ext.setdefault(key, pk)
        if emails:
            matching = scoped.alias(email_lower=Lower("email")).filter(email_lower__in=emails)
            for pk, key in matching.values_list("pk", "email"):
                by_email.setdefault(key.lower(), pk)
        kept = []
        for row in rows:
            ext_id = row.values.pop("contact_external_id", "")
            email = row.values.pop("contact_email", "")
            contact_id = by_ext.get(ext_id) if ext_id else None
            if contact_id is None and email:
                contact_id = by_email.get(email)
            if contact_id is None:
                wanted = f"external_id {ext_id!r}" if ext_id else f"email {email!r}"
                errors.append(RowError(row.line, f"no contact with {wanted}"))
                continue
            row.values["contact_id"] = contact_id
            kept.append(row)
        return kept

    def contact_key(self, contact_id: int, moment: dt.datetime) -> str:
        return f"k:{contact_id}|{moment.astimezone(dt.UTC).isoformat()}"


class InteractionWriter(ContactChildWriter):
    created_event = "interaction.created"
    stored_fields = ("contact_id", "channel", "direction", "subject", "body", "occurred_at")

    def payload(self, obj: Any) -> dict[str, Any]:
        return crm_services.interaction_payload(obj)

    def keys(self, row: CleanRow) -> list[str]:
        values = row.values
        moment = self.contact_key(values["contact_id"], values["occurred_at"])
        return [f"{moment}|{values['channel']}|{values.get('subject', '')}"]

    def lookup(self, rows: list[CleanRow]) -> dict[str, Any]:
        contacts = {r.values["contact_id"] for r in rows}
        moments = {r.values["occurred_at"] for r in rows}
        found: dict[str, Any] = {}
        scoped = Interaction.objects.in_workspace(self.workspace).order_by("id")
        for item in scoped.filter(contact_id__in=contacts, occurred_at__in=moments):
            moment = self.contact_key(item.contact_id, item.occurred_at)
            found.setdefault(f"{moment}|{item.channel}|{item.subject}", item)
        return found


class OrderWriter(ContactChildWriter):
    stored_fields = ("contact_id", "ordered_at", "status", "total", "external_id")

    def keys(self, row: CleanRow) -> list[str]:
        keys = []
        if row.values.get("external_id"):
            keys.append(f"x:{row.values['external_id']}")
        keys.append(self.contact_key(row.values["contact_id"], row.values["ordered_at"]))
        return keys

    def changes(self, obj: Any, row: CleanRow) -> list[str]:
        if isinstance(row.values.get("total"), Decimal) and obj.total is not None:
            obj.total = Decimal(obj.total).quantize(Decimal("0.01"))
        return super().changes(obj, row)

    def lookup(self, rows: list[CleanRow]) -> dict[str, Any]:
        ext = {r.values["external_id"] for r in rows if r.values.get("external_id")}
        contacts = {r.values["contact_id"] for r in rows}
        moments = {r.values["ordered_at"] for r in rows}
        scoped = Order.objects.in_workspace(self.workspace).order_by("id")
        found: dict[str, Any] = {}
        if ext:
            for order in scoped.filter(external_id__in=ext):
                found.setdefault(f"x:{order.external_id}", order)
        for order in scoped.filter(contact_id__in=contacts, ordered_at__in=moments):
            found.setdefault(self.contact_key(order.contact_id, order.ordered_at), order)
        return found
