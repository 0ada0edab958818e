"""Merging two contacts that are one person.

:func:`contact_merge` keeps one contact (``keep``) and folds the other
(``other``) into it, in one transaction:

1. the kept contact gets, field by field, the value chosen from either
   (by default the kept contact's own, or the other's where it is empty);
   attributes are chosen key by key;
2. privacy: the stricter choice wins: opted out of marketing if either was,
   no profiling if either objected;
3. every row of any app pointing at the other contact (interactions, orders,
   deals, tasks, scores, sentiment, messages...: every relation to Contact,
   found generically by :func:`contact_relations`) moves to the kept
   contact. Where a unique constraint allows one such row per contact (one
   score per contact, one message per campaign and contact), the other's row
   that would collide is deleted and the kept contact's row stays;
4. the other contact is deleted;
5. the audit log records both ids, which contact each field came from (no
   values: the log keeps no personal data) and what moved or was dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models, transaction

from crmcore.events import emit_on_commit
from crmcore.models import AuditEntry, Contact
from crmcore.selectors_duplicates import contact_duplicate_suggestions_forget
from crmcore.services import _save_contact, _validate, audit_record, contact_payload

if TYPE_CHECKING:
    from django.contrib.auth.models import User

#: The fields a merge chooses between, as (field name, model attribute).
MERGE_FIELDS: tuple[tuple[str, str], ...] = (
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("email", "email"),
    ("phone", "phone"),
    ("account", "account_id"),
    ("owner", "owner_id"),
    ("team", "team_id"),
    ("lifecycle_stage", "lifecycle_stage"),
    ("region", "region"),
    ("segment", "segment"),
    ("external_id", "external_id"),
)
#: Privacy flags: true on the merged contact if true on either.
STRICTER_FLAGS = ("marketing_opt_out", "do_not_profile")
ATTRIBUTE_PREFIX = "attributes."
KEEP, OTHER = "keep", "other"


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def merge_defaults(keep: Contact, other: Contact) -> dict[str, str]:
    """The default choice per field: the kept contact's value, the other's where
    the kept one is empty (``{"email": "keep", "attributes.plan": "other", ...}``)."""
    defaults = {
        name: OTHER if _empty(getattr(keep, attr)) and not _empty(getattr(other, attr)) else KEEP
        for name, attr in MERGE_FIELDS
    }
    keep_attrs, other_attrs = keep.attributes or {}, other.attributes or {}
    for key in sorted(set(keep_attrs) | set(other_attrs)):
        defaults[ATTRIBUTE_PREFIX + key] = (
            OTHER if _empty(keep_attrs.get(key)) and not _empty(other_attrs.get(key)) else KEEP
        )
    return defaults


def _unique_sets(
    model: type[models.Model], field: models.Field
) -> Iterable[tuple[tuple[str, ...], Any]]:
    """(other fields, condition) of each uniqueness rule of ``model`` that includes ``field``."""
    if field.unique:
        yield (), None
    for fields in model._meta.unique_together:
        if field.name in fields:
            yield tuple(f for f in fields if f != field.name), None
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and field.name in constraint.fields:
            others = tuple(f for f in constraint.fields if f != field.name)
            yield others, constraint.condition


def _colliding_ids(
    model: type[models.Model], field: models.Field, keep_pk: int, other_pk: int
) -> set[Any]:
    """Ids of the other contact's rows that could not move without breaking a uniqueness rule."""
    manager = model._base_manager
    ids: set[Any] = set()
    for others, condition in _unique_sets(model, field):
        kept_rows = manager.filter(**{field.name: keep_pk})
        other_rows = manager.filter(**{field.name: other_pk})
        if condition is not None:
            kept_rows, other_rows = kept_rows.filter(condition), other_rows.filter(condition)
        if not others:
            if kept_rows.exists():
                ids.update(other_rows.values_list("pk", flat=True))
            continue
        taken = {key for key in kept_rows.values_list(*others) if None not in key}
        for pk, *key in other_rows.values_list("pk", *others):
            if tuple(key) in taken:
                ids.add(pk)
    return ids


def _label(model: type[models.Model], count: int) -> str:
    meta = model._meta
    return str(meta.verbose_name if count == 1 else meta.verbose_name_plural)


def contact_relations() -> list[Any]:
    """Every relation pointing at Contact, from any app, hidden ones included.

    ``Contact._meta.related_objects`` leaves out relations declared with
    ``related_name="+"`` (sentiment, campaign messages, suggested replies):
    their rows would be deleted with the merged-away contact instead of moved.
    """
    return [
        field
        for field in Contact._meta.get_fields(include_hidden=True)
        if field.auto_created and not field.concrete and field.is_relation
    ]


def _move_related(keep: Contact, other: Contact) -> tuple[dict[str, int], dict[str, int]]:
    """Point every row referring to ``other`` at ``keep``: (moved, deleted) counts by label."""
    moved: dict[str, int] = {}
    deleted: dict[str, int] = {}
    for relation in contact_relations():
        if relation.many_to_many:
            through = relation.through
            field = next(
                f
                for f in through._meta.get_fields()
                if isinstance(f, models.ForeignKey) and f.related_model is Contact
            )
            model = through
        else:
            model, field = relation.related_model, relation.field
        collisions = _colliding_ids(model, field, keep.pk, other.pk)
        if collisions:
            model._base_manager.filter(pk__in=collisions).delete()
            deleted[_label(model, len(collisions))] = len(collisions)
        count = model._base_manager.filter(**{field.name: other.pk}).update(**{field.name: keep.pk})
        if count:
            moved[_label(model, count)] = moved.get(_label(model, count), 0) + count
    return moved, deleted


def _sentence(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {label}" for label, n in counts.items())


@transaction.atomic
def contact_merge(
    *,
    keep: Contact,
    other: Contact,
    choices: Mapping[str, str] | None = None,
    actor: User | None = None,
) -> AuditEntry:
    """Merge ``other`` into ``keep`` (see the module's docstring); returns the audit entry.

    ``choices`` maps a field name (or ``"attributes.<key>"``) to ``"keep"`` or
    ``"other"``: whose value the merged contact has. Fields not named take
    :func:`merge_defaults`. Raises ``ValidationError`` for a contact merged
    with itself, contacts of two workspaces, or an unknown field or choice.
    """
    if keep.pk == other.pk:
        raise ValidationError("A contact cannot be merged with itself.")
    if keep.workspace_id != other.workspace_id:
        raise ValidationError("Both contacts must belong to the same workspace.")
    # Both rows locked (PostgreSQL) so that a concurrent merge of either waits.
    list(Contact.objects.select_for_update().filter(pk__in=[keep.pk, other.pk]).order_by("pk"))

    chosen = merge_defaults(keep, other)
    unknown = set(choices or {}) - set(chosen)
    bad = {name: value for name, value in (choices or {}).items() if value not in (KEEP, OTHER)}
    if unknown or bad:
        raise ValidationError(
            dict.fromkeys(bad, "Choose “keep” or “other”.")
            | dict.fromkeys(sorted(unknown), "Not a field of these contacts.")
        )
    chosen.update(choices or {})

    values: dict[str, Any] = {}
    for name, attr in MERGE_FIELDS:
        values[attr] = getattr(other if chosen[name] == OTHER else keep, attr)
    # An email found by the finder despite the unique constraint has spaces around it.
    values["email"] = (values["email"] or "").strip()
    attributes: dict[str, Any] = {}
    for name, source in chosen.items():
        if name.startswith(ATTRIBUTE_PREFIX):
            key = name.removeprefix(ATTRIBUTE_PREFIX)
            picked = (other if source == OTHER else keep).attributes or {}
            if key in picked:
                attributes[key] = picked[key]
    values["attributes"] = attributes
    for flag in STRICTER_FLAGS:
        values[flag] = getattr(keep, flag) or getattr(other, flag)

    workspace_id = keep.workspace_id
    transaction.on_commit(lambda: contact_duplicate_suggestions_forget(workspace_id))
    keep_label, other_label = keep.full_name, other.full_name
    keep_pk, other_pk = keep.pk, other.pk
    moved, dropped = _move_related(keep, other)
    other.delete()  # nothing points at it any more: its email is free for the kept contact

    changed = [attr for attr, value in values.items() if getattr(keep, attr) != value]
    for attr, value in values.items():
        setattr(keep, attr, value)
    if changed:
        _validate(keep)
        _save_contact(keep, email_changed="email" in changed)
        names = sorted(attr.removesuffix("_id") for attr in changed)
        emit_on_commit(
            "contact.updated",
            workspace=keep.workspace,
            payload=contact_payload(keep) | {"changed": names},
        )

    from_other = sorted(name for name, source in chosen.items() if source == OTHER)
    parts = [f"Merged contact “{other_label}” (#{other_pk}) into “{keep_label}” (#{keep_pk})"]
    if from_other:
        parts.append(f"kept from #{other_pk}: {', '.join(from_other)}")
    if moved:
        parts.append(f"moved {_sentence(moved)}")
    if dropped:
        parts.append(f"dropped {_sentence(dropped)} (the kept contact has its own)")
    return audit_record(
        workspace=keep.workspace_id,
        actor=actor,
        action="merge",
        object_type="contact",
        object_id=keep_pk,
        summary="; ".join(parts) + ".",
        details={
            "kept_id": keep_pk,
            "merged_id": other_pk,
            "fields": {
                name: keep_pk if source == KEEP else other_pk for name, source in chosen.items()
            },
            "privacy": {flag: values[flag] for flag in STRICTER_FLAGS},
            "moved": moved,
            "deleted": dropped,
        },
    )
