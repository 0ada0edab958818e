"""Writes of the CRM domain.

Every service is keyword-only, typed and atomic, and takes the workspace
explicitly (or an object that already belongs to one). Related objects passed
in (an account, a team, a contact, a product) must belong to the same
workspace, otherwise ``django.core.exceptions.ValidationError`` is raised with
the offending field name as key. Field values are validated with the model's
own validators (email format, choices, lengths) without extra queries.

Events (``crmcore.events``) are emitted after the transaction commits. Their
payloads are plain JSON-able dicts (ids, ISO 8601 timestamps, strings); the
exact keys are documented on each service and are part of the public contract
that webhooks and the AI capabilities rely on:

* ``contact.created`` / ``contact.updated``: see :func:`contact_payload`.
* ``interaction.created``: see :func:`interaction_payload`.
* ``deal.stage_changed``: see :func:`deal_stage_change`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from crmcore import json_limits, outbound, placeholders
from crmcore.events import emit_many_on_commit, emit_on_commit
from crmcore.models import (
    Account,
    AuditEntry,
    Campaign,
    Contact,
    Deal,
    DealStageChange,
    Interaction,
    Order,
    OrderLine,
    OutboundRecord,
    OutboxEvent,
    Product,
    SavedFilter,
    Task,
    Team,
    Workspace,
    WorkspaceScoped,
)
from crmcore.selectors import contact_with_email, delete_impact, tasks_due_by_owner

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# --------------------------------------------------------------------------- helpers


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _ensure_same_workspace(workspace_id: int, **related: WorkspaceScoped | None) -> None:
    """Raise a ValidationError naming each related object of another workspace."""
    errors = {
        name: f"{type(obj).__name__} {obj.pk} does not exist in this workspace."
        for name, obj in related.items()
        if obj is not None and obj.workspace_id != workspace_id
    }
    if errors:
        raise ValidationError(errors)


def _validate(instance: models.Model) -> None:
    """Field validation only: no foreign-key lookups, no uniqueness queries.

    A JSON field whose default is an object (``attributes``, ``audience``)
    must hold a small JSON object (``crmcore.json_limits``).
    """
    exclude = [f.name for f in instance._meta.concrete_fields if f.is_relation]
    errors: dict[str, list[str]] = {}
    for field in instance._meta.concrete_fields:
        if isinstance(field, models.JSONField) and field.default is dict:
            try:
                json_limits.validate_json_object(getattr(instance, field.attname))
            except ValidationError as exc:
                errors[field.name] = exc.messages
    if errors:
        raise ValidationError(errors)
    instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


def _json_object_copy(value: Any) -> Any:
    """A copy of a JSON object (``{}`` for None); anything else as it is, for _validate."""
    if value is None:
        return {}
    return dict(value) if isinstance(value, dict) else value


def _apply(instance: models.Model, data: Mapping[str, Any], allowed: frozenset[str]) -> list[str]:
    """Set the allowed fields from ``data``; return the names that changed."""
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be updated."))
    changed = []
    for name, value in data.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


# --------------------------------------------------------------------------- audit


def audit_record(
    *,
    workspace: Workspace | int,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: int | None,
    summary: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit entry (in the caller's transaction)."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    return AuditEntry.objects.create(
        workspace_id=workspace_id,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=summary[:500],
        details=dict(details or {}),
    )


def _delete_audited(obj: WorkspaceScoped, *, actor: User | None) -> None:
    """Delete ``obj`` with what goes with it, and audit what went."""
    impact = delete_impact([obj])
    kind = str(obj._meta.verbose_name)
    label = str(obj)
    pk = obj.pk
    workspace_id = obj.workspace_id
    obj.delete()
    with_it = "; ".join(impact.sentences())
    audit_record(
        workspace=workspace_id,
        actor=actor,
        action="delete",
        object_type=obj._meta.model_name or kind,
        object_id=pk,
        summary=f"Deleted {kind} “{label}” (#{pk})" + (f": {with_it}." if with_it else "."),
        details={"deleted": impact.deleted, "unlinked": impact.unlinked},
    )


@transaction.atomic
def objects_delete(
    *, workspace: Workspace, actor: User | None, objects: Sequence[WorkspaceScoped]
) -> int:
    """Delete several objects of one kind (a bulk delete), audited as one entry."""
    objects = [obj for obj in objects if obj.workspace_id == workspace.pk]
    if not objects:
        return 0
    impact = delete_impact(list(objects))
    model = type(objects[0])
    ids = [obj.pk for obj in objects]
    model._default_manager.filter(pk__in=ids).delete()
    plural = str(model._meta.verbose_name_plural)
    with_it = "; ".join(impact.sentences())
    audit_record(
        workspace=workspace,
        actor=actor,
        action="bulk_delete",
        object_type=model._meta.model_name or plural,
        object_id=None,
        summary=f"Deleted {len(ids)} {plural}" + (f": {with_it}." if with_it else "."),
        details={"ids": ids, "deleted": impact.deleted, "unlinked": impact.unlinked},
    )
    return len(ids)


# --------------------------------------------------------------------------- accounts

ACCOUNT_UPDATABLE = frozenset({"name", "domain", "industry", "region", "external_id"})


@transaction.atomic
def account_create(
    *,
    workspace: Workspace,
    name: str,
    domain: str = "",
    industry: str = "",
    region: str = "",
    external_id: str = "",
) -> Account:
    account = Account(
        workspace=workspace,
        name=name,
        domain=domain,
        industry=industry,
        region=region,
        external_id=external_id,
    )
    _validate(account)
    account.save()
    return account


@transaction.atomic
def account_update(*, account: Account, data: Mapping[str, Any]) -> Account:
    """Update any of ``name, domain, industry, region, external_id``."""
    changed = _apply(account, data, ACCOUNT_UPDATABLE)
    if changed:
        _validate(account)
        account.save(update_fields=[*changed, "updated_at"])
    return account


@transaction.atomic
def account_delete(*, account: Account, actor: User | None = None) -> None:
    """Delete an account; its contacts and deals keep existing without it."""
    _delete_audited(account, actor=actor)


# --------------------------------------------------------------------------- contacts

CONTACT_UPDATABLE = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "phone",
        "account",
        "owner",
        "team",
        "lifecycle_stage",
        "region",
        "segment",
        "external_id",
        "attributes",
        "marketing_opt_out",
        "do_not_profile",
    }
)


def contact_payload(contact: Contact) -> dict[str, Any]:
    """The payload of ``contact.created`` and ``contact.updated``.

    Keys: ``id``, ``workspace_id``, ``first_name``, ``last_name``, ``email``,
    ``phone``, ``account_id``, ``owner_id``, ``team_id``, ``lifecycle_stage``,
    ``region``, ``segment``, ``external_id``, ``attributes`` (a dict),
    ``marketing_opt_out``,
    ``do_not_profile`` (the person objects to profiling),
    ``created_at`` and ``updated_at`` (ISO 8601). ``contact.updated`` adds
    ``changed``: the sorted names of the fields that changed (foreign keys by
    their field name, e.g. ``"account"``).
    """
    return {
        "id": contact.pk,
        "workspace_id": contact.workspace_id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "account_id": contact.account_id,
        "owner_id": contact.owner_id,
        "team_id": contact.team_id,
        "lifecycle_stage": contact.lifecycle_stage,
        "region": contact.region,
        "segment": contact.segment,
        "external_id": contact.external_id,
        "attributes": dict(contact.attributes or {}),
        "marketing_opt_out": contact.marketing_opt_out,
        "do_not_profile": contact.do_not_profile,
        "created_at": _iso(contact.created_at),
        "updated_at": _iso(contact.updated_at),
    }


def _email_taken(existing: Contact) -> ValidationError:
    return ValidationError(
        {
            "email": ValidationError(
                "A contact with this email already exists in this workspace: "
                "%(name)s (contact %(contact_id)s).",
                code="duplicate_email",
                params={"name": existing.full_name, "contact_id": existing.pk},
            )
        }
    )


def _save_contact(contact: Contact, *, email_changed: bool = True, **save_kwargs: Any) -> None:
    """Save, refusing an email another contact of the workspace has (whatever its case).

    Checked before writing (when the email is new or changed) for a clear
    error; the database's unique constraint settles a concurrent write of the
    same email, reported the same way.
    """
    if email_changed:
        existing = contact_with_email(
            workspace=contact.workspace_id, email=contact.email, exclude_pk=contact.pk
        )
        if existing is not None:
            raise _email_taken(existing)
    try:
        with transaction.atomic():
            contact.save(**save_kwargs)
    except IntegrityError:
        existing = contact_with_email(
            workspace=contact.workspace_id, email=contact.email, exclude_pk=contact.pk
        )
        if existing is None:
            raise
        raise _email_taken(existing) from None


@transaction.atomic
def contact_create(
    *,
    workspace: Workspace,
    first_name: str,
    last_name: str = "",
    email: str = "",
    phone: str = "",
    account: Account | None = None,
    owner: User | None = None,
    team: Team | None = None,
    lifecycle_stage: str = Contact.Stage.LEAD,
    region: str = "",
    segment: str = "",
    external_id: str = "",
    attributes: dict[str, Any] | None = None,
    marketing_opt_out: bool = False,
    do_not_profile: bool = False,
) -> Contact:
    """Create a contact and emit ``contact.created`` after commit."""
    _ensure_same_workspace(workspace.pk, account=account, team=team)
    contact = Contact(
        workspace=workspace,
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        account=account,
        owner=owner,
        team=team,
        lifecycle_stage=lifecycle_stage,
        region=region,
        segment=segment,
        external_id=external_id,
        attributes=_json_object_copy(attributes),
        marketing_opt_out=marketing_opt_out,
        do_not_profile=do_not_profile,
    )
    _validate(contact)
    _save_contact(contact)
    emit_on_commit("contact.created", workspace=workspace, payload=contact_payload(contact))
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, data: Mapping[str, Any]) -> Contact:
    """Update a contact from ``data`` (field name to new value).

    Emits ``contact.updated`` after commit when anything changed; its payload
    is :func:`contact_payload` plus ``changed``.
    """
    _ensure_same_workspace(contact.workspace_id, account=data.get("account"), team=data.get("team"))
    changed = _apply(contact, data, CONTACT_UPDATABLE)
    if changed:
        _validate(contact)
        _save_contact(
            contact, email_changed="email" in changed, update_fields=[*changed, "updated_at"]
        )
        payload = contact_payload(contact) | {"changed": sorted(changed)}
        emit_on_commit("contact.updated", workspace=contact.workspace, payload=payload)
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact, actor: User | None = None) -> None:
    """Delete a contact with its interactions and orders."""
    _delete_audited(contact, actor=actor)


# --------------------------------------------------------------------------- interactions

INTERACTION_UPDATABLE = frozenset(
    {"contact", "channel", "direction", "subject", "body", "occurred_at", "author"}
)


def interaction_payload(interaction: Interaction) -> dict[str, Any]:
    """The payload of ``interaction.created``.

    Keys: ``id``, ``workspace_id``, ``contact_id``, ``channel``, ``direction``
    (``"in"`` or ``"out"``), ``subject``, ``body``, ``occurred_at``,
    ``author_id``, ``created_at`` (ISO 8601).
    """
    return {
        "id": interaction.pk,
        "workspace_id": interaction.workspace_id,
        "contact_id": interaction.contact_id,
        "channel": interaction.channel,
        "direction": interaction.direction,
        "subject": interaction.subject,
        "body": interaction.body,
        "occurred_at": _iso(interaction.occurred_at),
        "author_id": interaction.author_id,
        "created_at": _iso(interaction.created_at),
    }


@transaction.atomic
def interaction_create(
    *,
    workspace: Workspace,
    contact: Contact,
    channel: str,
    direction: str = Interaction.Direction.INBOUND,
    subject: str = "",
    body: str = "",
    occurred_at: dt.datetime | None = None,
    author: User | None = None,
) -> Interaction:
    """Log an interaction (``occurred_at`` defaults to now) and emit ``interaction.created``."""
    _ensure_same_workspace(workspace.pk, contact=contact)
    interaction = Interaction(
        workspace=workspace,
        contact=contact,
        channel=channel,
        direction=direction,
        subject=subject,
        body=body,
        occurred_at=occurred_at or timezone.now(),
        author=author,
    )
    _validate(interaction)
    interaction.save()
    emit_on_commit(
        "interaction.created", workspace=workspace, payload=interaction_payload(interaction)
    )
    return interaction


@dataclass(frozen=True)
class InteractionInput:
    """One interaction to log with ``interactions_create_many``."""

    contact: Contact
    channel: str
    direction: str = Interaction.Direction.INBOUND
    subject: str = ""
    body: str = ""
    occurred_at: dt.datetime | None = None
    author: User | None = None


@transaction.atomic
def interactions_create_many(
    *, workspace: Workspace, items: Sequence[InteractionInput]
) -> list[Interaction]:
    """Log many interactions in one insert, each validated, with one ``interaction.created``
    each (the outbox written in one insert too). Returns them in the order given."""
    now = timezone.now()
    rows = []
    for item in items:
        _ensure_same_workspace(workspace.pk, contact=item.contact)
        interaction = Interaction(
            workspace=workspace,
            contact=item.contact,
            channel=item.channel,
            direction=item.direction,
            subject=item.subject,
            body=item.body,
            occurred_at=item.occurred_at or now,
            author=item.author,
        )
        _validate(interaction)
        rows.append(interaction)
    created = Interaction.objects.bulk_create(rows, batch_size=500)
    emit_many_on_commit(
        workspace=workspace,
        events=[("interaction.created", interaction_payload(i)) for i in created],
    )
    return created


@transaction.atomic
def interaction_update(*, interaction: Interaction, data: Mapping[str, Any]) -> Interaction:
    """Correct an interaction. No event: ``interaction.created`` stays the only one."""
    _ensure_same_workspace(interaction.workspace_id, contact=data.get("contact"))
    changed = _apply(interaction, data, INTERACTION_UPDATABLE)
    if changed:
        _validate(interaction)
        interaction.save(update_fields=[*changed, "updated_at"])
    return interaction


@transaction.atomic
def interaction_delete(*, interaction: Interaction, actor: User | None = None) -> None:
    _delete_audited(interaction, actor=actor)


# --------------------------------------------------------------------------- deals

DEAL_UPDATABLE = frozenset(
    {"name", "account", "contact", "stage", "amount", "discount_percent", "expected_close", "owner"}
)
CLOSED_STAGES = frozenset({Deal.Stage.WON, Deal.Stage.LOST})


@transaction.atomic
def deal_create(
    *,
    workspace: Workspace,
    name: str,
    account: Account | None = None,
    contact: Contact | None = None,
    stage: str = Deal.Stage.LEAD,
    amount: Decimal | int | str = Decimal("0"),
    expected_close: dt.date | None = None,
    owner: User | None = None,
    discount_percent: Decimal | int | str = Decimal("0"),
) -> Deal:
    """Create a deal and the first row of its stage history.

    A deal created already won or lost gets ``closed_at`` = now."""
    _ensure_same_workspace(workspace.pk, account=account, contact=contact)
    deal = Deal(
        workspace=workspace,
        name=name,
        account=account,
        contact=contact,
        stage=stage,
        amount=Decimal(amount),
        discount_percent=Decimal(discount_percent),
        expected_close=expected_close,
        owner=owner,
        closed_at=timezone.now() if stage in CLOSED_STAGES else None,
    )
    _validate(deal)
    deal.save()
    DealStageChange.objects.create(
        workspace=workspace, deal=deal, to_stage=stage, changed_at=deal.created_at
    )
    return deal


@transaction.atomic
def deal_stage_change(*, deal: Deal, stage: str) -> Deal:
    """Move a deal to ``stage``; no-op when it is already there.

    Moving to ``won`` or ``lost`` sets ``closed_at`` to now; moving back to an
    open stage clears it. Each move adds a row to the deal's stage history.
    Emits ``deal.stage_changed`` after commit with the payload keys ``id``,
    ``workspace_id``, ``name``, ``from_stage``, ``to_stage``, ``amount`` (a decimal
    string, e.g. ``"5000.00"``),
    ``contact_id``, ``account_id``, ``owner_id``, ``closed_at`` (ISO 8601 or
    null) and ``changed_at`` (ISO 8601).
    """
    if stage not in Deal.Stage.values:
        raise ValidationError({"stage": f"Unknown stage {stage!r}."})
    from_stage = deal.stage
    if stage == from_stage:
        return deal
    now = timezone.now()
    deal.stage = stage
    deal.closed_at = now if stage in CLOSED_STAGES else None
    deal.save(update_fields=["stage", "closed_at", "updated_at"])
    DealStageChange.objects.create(
        workspace_id=deal.workspace_id,
        deal=deal,
        from_stage=from_stage,
        to_stage=stage,
        changed_at=now,
    )
    emit_on_commit(
        "deal.stage_changed",
        workspace=deal.workspace,
        payload={
            "id": deal.pk,
            "workspace_id": deal.workspace_id,
            "name": deal.name,
            "from_stage": from_stage,
            "to_stage": stage,
            "amount": str(deal.amount),
            "contact_id": deal.contact_id,
            "account_id": deal.account_id,
            "owner_id": deal.owner_id,
            "closed_at": _iso(deal.closed_at),
            "changed_at": now.isoformat(),
        },
    )
    return deal


@transaction.atomic
def deal_update(*, deal: Deal, data: Mapping[str, Any]) -> Deal:
    """Update a deal; a change of ``stage`` goes through :func:`deal_stage_change`."""
    data = dict(data)
    stage = data.pop("stage", None)
    _ensure_same_workspace(
        deal.workspace_id, account=data.get("account"), contact=data.get("contact")
    )
    changed = _apply(deal, data, DEAL_UPDATABLE)
    if changed:
        _validate(deal)
        deal.save(update_fields=[*changed, "updated_at"])
    if stage is not None:
        deal_stage_change(deal=deal, stage=stage)
    return deal


@transaction.atomic
def deal_delete(*, deal: Deal, actor: User | None = None) -> None:
    _delete_audited(deal, actor=actor)


# --------------------------------------------------------------------------- products

PRODUCT_UPDATABLE = frozenset({"sku", "name", "category", "price"})


def _ensure_unique_sku(*, workspace: Workspace, sku: str, exclude_pk: int | None = None) -> None:
    clash = Product.objects.in_workspace(workspace).filter(sku=sku)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"sku": f"A product with SKU {sku!r} already exists."})


@transaction.atomic
def product_create(
    *,
    workspace: Workspace,
    sku: str,
    name: str,
    category: str = "",
    price: Decimal | int | str = Decimal("0"),
) -> Product:
    _ensure_unique_sku(workspace=workspace, sku=sku)
    product = Product(
        workspace=workspace, sku=sku, name=name, category=category, price=Decimal(price)
    )
    _validate(product)
    product.save()
    return product


@transaction.atomic
def product_update(*, product: Product, data: Mapping[str, Any]) -> Product:
    if "sku" in data:
        _ensure_unique_sku(workspace=product.workspace, sku=data["sku"], exclude_pk=product.pk)
    changed = _apply(product, data, PRODUCT_UPDATABLE)
    if changed:
        _validate(product)
        product.save(update_fields=changed)
    return product


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Delete a product; refused (ValidationError) while order lines refer to it."""
    if product.order_lines.exists():
        raise ValidationError({"product": "The product appears on orders; it cannot be deleted."})
    product.delete()


# --------------------------------------------------------------------------- orders


@dataclass(frozen=True)
class OrderLineInput:
    """One line of a new order; ``unit_price`` defaults to the product's price."""

    product: Product
    quantity: int = 1
    unit_price: Decimal | None = None


ORDER_UPDATABLE = frozenset({"contact", "ordered_at", "status", "external_id"})
ORDER_LINE_MAX_QUANTITY = 1_000_000
# Order.total has 12 digits, 2 of them decimals.
ORDER_MAX_TOTAL = Decimal("9999999999.99")


def _order_lines_write(*, order: Order, lines: Sequence[OrderLineInput]) -> None:
    """Replace the order's lines (one bulk insert) and recompute its total."""
    _ensure_same_workspace(
        order.workspace_id, **{f"lines[{i}].product": line.product for i, line in enumerate(lines)}
    )
    errors = {
        f"lines[{i}].quantity": (f"Quantity must be between 1 and {ORDER_LINE_MAX_QUANTITY}.")
        for i, line in enumerate(lines)
        if not 1 <= line.quantity <= ORDER_LINE_MAX_QUANTITY
    }
    if errors:
        raise ValidationError(errors)
    rows = [
        OrderLine(
            workspace_id=order.workspace_id,
            order=order,
            product=line.product,
            quantity=line.quantity,
            unit_price=line.product.price if line.unit_price is None else Decimal(line.unit_price),
        )
        for line in lines
    ]
    total = sum((row.unit_price * row.quantity for row in rows), Decimal("0.00"))
    if total > ORDER_MAX_TOTAL:
        raise ValidationError({"lines": f"The order total may be at most {ORDER_MAX_TOTAL}."})
    order.lines.all().delete()
    OrderLine.objects.bulk_create(rows)
    order.total = total
    order.save(update_fields=["total"])


@transaction.atomic
def order_create(
    *,
    workspace: Workspace,
    contact: Contact,
    lines: Sequence[OrderLineInput],
    ordered_at: dt.datetime | None = None,
    status: str = Order.Status.PAID,
    external_id: str = "",
) -> Order:
    """Create an order with its lines; ``total`` is the sum of quantity x unit price."""
    _ensure_same_workspace(workspace.pk, contact=contact)
    if not lines:
        raise ValidationError({"lines": "An order needs at least one line."})
    order = Order(
        workspace=workspace,
        contact=contact,
        ordered_at=ordered_at or timezone.now(),
        status=status,
        external_id=external_id,
        total=Decimal("0.00"),
    )
    _validate(order)
    order.save()
    _order_lines_write(order=order, lines=lines)
    return order


@transaction.atomic
def order_update(
    *,
    order: Order,
    data: Mapping[str, Any],
    lines: Sequence[OrderLineInput] | None = None,
) -> Order:
    """Update an order's fields; when ``lines`` is given they replace the old ones."""
    _ensure_same_workspace(order.workspace_id, contact=data.get("contact"))
    changed = _apply(order, data, ORDER_UPDATABLE)
    if changed:
        _validate(order)
        order.save(update_fields=changed)
    if lines is not None:
        if not lines:
            raise ValidationError({"lines": "An order needs at least one line."})
        _order_lines_write(order=order, lines=lines)
    return order


@transaction.atomic
def order_delete(*, order: Order) -> None:
    order.delete()


# --------------------------------------------------------------------------- campaigns

CAMPAIGN_UPDATABLE = frozenset(
    {"name", "goal", "audience", "subject_template", "body_template", "status"}
)


@transaction.atomic
def campaign_create(
    *,
    workspace: Workspace,
    name: str,
    goal: str = Campaign.Goal.CHECK_IN,
    audience: dict[str, Any] | None = None,
    subject_template: str = "",
    body_template: str = "",
    status: str = Campaign.Status.DRAFT,
    created_by: User | None = None,
) -> Campaign:
    campaign = Campaign(
        workspace=workspace,
        name=name,
        goal=goal,
        audience=_json_object_copy(audience),
        subject_template=subject_template,
        body_template=body_template,
        status=status,
        created_by=created_by,
    )
    _validate(campaign)
    _templates_validate(campaign, ["subject_template", "body_template"])
    campaign.save()
    return campaign


def _templates_validate(campaign: Campaign, changed: list[str]) -> None:
    """The placeholder language's rules (``crmcore.placeholders``), for changed templates.

    A template saved before a rule existed stays usable: only what changes is checked.
    """
    errors = placeholders.campaign_template_errors(
        subject_template=campaign.subject_template, body_template=campaign.body_template
    )
    errors = {name: problems for name, problems in errors.items() if name in changed}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def campaign_update(*, campaign: Campaign, data: Mapping[str, Any]) -> Campaign:
    changed = _apply(campaign, data, CAMPAIGN_UPDATABLE)
    if changed:
        _validate(campaign)
        _templates_validate(campaign, changed)
        campaign.save(update_fields=[*changed, "updated_at"])
    return campaign


@transaction.atomic
def campaign_delete(*, campaign: Campaign, actor: User | None = None) -> None:
    _delete_audited(campaign, actor=actor)


@transaction.atomic
def contacts_assign(
    *,
    workspace: Workspace,
    actor: User | None,
    contacts: Sequence[Contact],
    owner: User | None = None,
    team: Team | None = None,
) -> int:
    """Give several contacts an owner or a team (a bulk action): one UPDATE,
    ``contact.updated`` for each, one audit entry."""
    data: dict[str, Any] = {}
    if owner is not None:
        data["owner"] = owner
    if team is not None:
        _ensure_same_workspace(workspace.pk, team=team)
        data["team"] = team
    contacts = [c for c in contacts if c.workspace_id == workspace.pk]
    if not data or not contacts:
        return 0
    now = timezone.now()
    ids = [c.pk for c in contacts]
    Contact.objects.filter(pk__in=ids).update(**data, updated_at=now)
    for contact in contacts:
        for name, value in data.items():
            setattr(contact, name, value)
        contact.updated_at = now
        payload = contact_payload(contact) | {"changed": sorted(data)}
        emit_on_commit("contact.updated", workspace=workspace, payload=payload)
    what = ", ".join(f"{name} {value}" for name, value in data.items())
    audit_record(
        workspace=workspace,
        actor=actor,
        action="bulk_assign",
        object_type="contact",
        object_id=None,
        summary=f"Gave {len(ids)} contacts the {what}.",
        details={"ids": ids, **{f"{name}_id": value.pk for name, value in data.items()}},
    )
    return len(ids)


#: A campaign's audience holds at most this many hand-picked contacts.
CAMPAIGN_PICKED_MAX = 1000
CAMPAIGN_PICKABLE = (Campaign.Status.DRAFT, Campaign.Status.APPROVED)


@transaction.atomic
def campaign_contacts_add(
    *, workspace: Workspace, actor: User | None, campaign: Campaign, contacts: Sequence[Contact]
) -> int:
    """Add contacts by hand to a draft or approved campaign's audience (a bulk
    action): their ids go to ``audience["contacts"]``, which the campaign sends
    to besides whoever its filters select. An approved campaign whose audience
    grew is a draft again, to be approved anew. One audit entry. Returns how
    many were not in it yet."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk, workspace=workspace)
    if campaign.status not in CAMPAIGN_PICKABLE:
        raise ValidationError(
            f"A {campaign.get_status_display().lower()} campaign cannot get new contacts."
        )
    audience = dict(campaign.audience or {})
    picked = {int(pk) for pk in audience.get("contacts") or []}
    new = [c.pk for c in contacts if c.workspace_id == workspace.pk and c.pk not in picked]
    if not new:
        return 0
    if len(picked) + len(new) > CAMPAIGN_PICKED_MAX:
        raise ValidationError(
            f"A campaign holds at most {CAMPAIGN_PICKED_MAX:,} hand-picked contacts "
            f"({len(picked):,} already)."
        )
    audience["contacts"] = sorted(picked | set(new))
    fields = ["audience", "updated_at"]
    campaign.audience = audience
    if campaign.status == Campaign.Status.APPROVED:
        campaign.status = Campaign.Status.DRAFT
        fields.append("status")
    campaign.save(update_fields=fields)
    audit_record(
        workspace=workspace,
        actor=actor,
        action="campaign_add",
        object_type="campaign",
        object_id=campaign.pk,
        summary=f"Added {len(new)} contacts to the campaign {campaign.name}.",
        details={"ids": new, "campaign_id": campaign.pk},
    )
    return len(new)


# --------------------------------------------------------------------------- users


@transaction.atomic
def user_invite(
    *,
    workspace: Workspace,
    username: str,
    email: str,
    first_name: str = "",
    last_name: str = "",
    teams: Sequence[Team] = (),
    is_staff: bool = False,
) -> User:
    """Create a user who sets their own password (none is usable until then).

    The teams must belong to ``workspace``. A username or an email that a
    user already has is refused (``ValidationError`` on that field).
    """
    user_model = get_user_model()
    errors = {}
    if user_model.objects.filter(username__iexact=username).exists():
        errors["username"] = ValidationError("A user with this username already exists.")
    if email and user_model.objects.filter(email__iexact=email).exists():
        errors["email"] = ValidationError("A user with this email already exists.")
    if errors:
        raise ValidationError(errors)
    for team in teams:
        _ensure_same_workspace(workspace.pk, team=team)
    user = user_model(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=is_staff,
    )
    user.set_unusable_password()
    user.save()
    for team in teams:
        team.members.add(user)
    return user


# --------------------------------------------------------------------------- tasks


@transaction.atomic
def task_create(
    *,
    workspace: Workspace,
    owner: User,
    title: str,
    due_date: dt.date,
    contact: Contact | None = None,
    deal: Deal | None = None,
    interaction: Interaction | None = None,
    source: str = Task.Source.MANUAL,
    reason: str = "",
) -> Task:
    """Create an open task for ``owner`` about a contact and/or a deal.

    The capabilities create tasks through this service too (accepting a next
    best action, with its reason).
    """
    _ensure_same_workspace(workspace.pk, contact=contact, deal=deal, interaction=interaction)
    if contact is None and deal is not None:
        contact = deal.contact
    task = Task(
        workspace=workspace,
        owner=owner,
        title=title.strip(),
        due_date=due_date,
        contact=contact,
        deal=deal,
        interaction=interaction,
        source=source,
        reason=reason.strip()[:500],
    )
    _validate(task)
    task.save()
    return task


TASK_UPDATABLE = frozenset({"title", "due_date", "contact", "deal"})


@transaction.atomic
def task_update(*, task: Task, data: Mapping[str, Any]) -> Task:
    _ensure_same_workspace(task.workspace_id, contact=data.get("contact"), deal=data.get("deal"))
    changed = _apply(task, data, TASK_UPDATABLE)
    if changed:
        _validate(task)
        task.save(update_fields=changed)
    return task


@transaction.atomic
def task_set_done(*, task: Task, done: bool = True) -> Task:
    """Mark a task done (with the time) or open again."""
    task.done = done
    task.done_at = timezone.now() if done else None
    task.save(update_fields=["done", "done_at"])
    return task


@transaction.atomic
def task_delete(*, task: Task, actor: User | None = None) -> None:
    _delete_audited(task, actor=actor)


def task_digest_send(*, workspace: Workspace, day: dt.date | None = None) -> int:
    """Email each rep their open tasks due today or overdue (one email each).

    Sent through ``crmcore.outbound``: a sandbox records them ("would have
    sent"). Returns the number of emails.
    """
    day = day or timezone.localdate()
    emails = []
    for tasks in tasks_due_by_owner(workspace=workspace, day=day).values():
        owner = tasks[0].owner
        if not owner.email or not owner.is_active:
            continue
        emails.append(
            outbound.Email(
                to=(owner.email,),
                subject=task_digest_subject(tasks, day=day),
                body=task_digest_body(owner=owner, tasks=tasks, day=day),
                payload={"task_ids": [t.pk for t in tasks]},
            )
        )
    if emails:
        outbound.emails_send(workspace=workspace, emails=emails, source="task-digest")
    return len(emails)


def task_digest_subject(tasks: Sequence[Task], *, day: dt.date) -> str:
    overdue = sum(1 for t in tasks if t.due_date < day)
    due = len(tasks) - overdue
    parts = []
    if due:
        parts.append(f"{due} due today")
    if overdue:
        parts.append(f"{overdue} overdue")
    return f"Your tasks: {' and '.join(parts)}"


def task_digest_body(*, owner: User, tasks: Sequence[Task], day: dt.date) -> str:
    lines = [f"Hello {owner.first_name or owner.get_username()},", ""]
    overdue = [t for t in tasks if t.due_date < day]
    today = [t for t in tasks if t.due_date >= day]

    def line(task: Task) -> str:
        about = task.contact.full_name if task.contact else (task.deal.name if task.deal else "")
        suffix = f" ({about})" if about else ""
        when = "" if task.due_date >= day else f", due {task.due_date:%-d %b}"
        return f"- {task.title}{suffix}{when}"

    if today:
        lines += ["Due today:", *(line(t) for t in today), ""]
    if overdue:
        lines += ["Overdue:", *(line(t) for t in overdue), ""]
    lines.append("Your tasks are under My tasks in PilotCRM.")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- erasure


@transaction.atomic
def contact_erase(*, contact: Contact, actor: User | None) -> AuditEntry:
    """Erase a person: the contact and everything derived from them (interactions,
    orders, tasks, and any app's rows about them: scores, sentiment, messages),
    their events waiting for delivery, and what a sandbox recorded for their
    address. Deals stay, without the link. The audit entry keeps no personal
    data: the former id and what was removed, counted.
    """
    impact = delete_impact([contact])
    pk, workspace_id, email = contact.pk, contact.workspace_id, contact.email
    contact.delete()
    pending = OutboxEvent.objects.filter(
        workspace_id=workspace_id, dispatched_at__isnull=True, payload__id=pk
    ).delete()[0]
    recorded = (
        OutboundRecord.objects.filter(workspace_id=workspace_id, recipient__iexact=email).delete()[
            0
        ]
        if email
        else 0
    )
    removed = dict(impact.deleted)
    if pending:
        removed["pending events"] = pending
    if recorded:
        removed["recorded emails"] = recorded
    counts = "; ".join(f"{n} {label}" for label, n in removed.items())
    return audit_record(
        workspace=workspace_id,
        actor=actor,
        action="erase",
        object_type="contact",
        object_id=pk,
        summary=f"Erased contact #{pk} and everything derived from them"
        + (f" ({counts})." if counts else "."),
        details={"deleted": removed, "unlinked": impact.unlinked},
    )


# Saved filters --------------------------------------------------------------

#: A user keeps at most this many saved filters per workspace.
SAVED_FILTERS_MAX = 30


def saved_filter_save(*, workspace: Workspace, owner: User, name: str, query: str) -> SavedFilter:
    """Save the contact list's ``query`` under ``name`` for ``owner`` (a name saved
    again gets the new query). ``query`` comes cleaned by the caller."""
    name = " ".join(name.split())[:80]
    if not name:
        raise ValidationError({"name": "Give the filter a name."})
    if not query or len(query) > 500:
        raise ValidationError({"query": "Choose a filter to save (at most 500 characters)."})
    with transaction.atomic():
        existing: SavedFilter | None = (
            SavedFilter.objects.in_workspace(workspace)
            .select_for_update()
            .filter(owner=owner, name=name)
            .first()
        )
        if existing is not None:
            existing.query = query
            existing.save(update_fields=["query"])
            return existing
        count = SavedFilter.objects.in_workspace(workspace).filter(owner=owner).count()
        if count >= SAVED_FILTERS_MAX:
            raise ValidationError(
                {"name": f"You have {SAVED_FILTERS_MAX} saved filters: delete one first."}
            )
        saved: SavedFilter = SavedFilter.objects.create(
            workspace=workspace, owner=owner, name=name, query=query
        )
        return saved


def saved_filter_delete(*, workspace: Workspace, owner: User, pk: int) -> bool:
    """Delete one of ``owner``'s saved filters; False when there is no such filter."""
    deleted, _ = SavedFilter.objects.in_workspace(workspace).filter(owner=owner, pk=pk).delete()
    return bool(deleted)
