"""What can be imported: the kinds, their fields and the field types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crmcore.integrations.models import ImportKind
from crmcore.models import Account, Contact, Interaction, Order, OrderLine


class ImportInputError(ValueError):
    """The file, kind or mapping is unusable; nothing was imported."""


# Field specs -----------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    name: str
    # text, multiline, email, phone, date, datetime, decimal, integer, choice, boolean
    type: str = "text"
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None
    reference: bool = False  # resolves another record; not stored as such


@dataclass(frozen=True)
class KindSpec:
    kind: str
    model: type[Any]
    fields: dict[str, FieldSpec]
    # Fields of which at least one must have a value.
    required_any: tuple[tuple[str, ...], ...] = ()
    attributes: bool = False

    def field_names(self) -> list[str]:
        return list(self.fields)


def _fields(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {spec.name: spec for spec in specs}


KINDS: dict[str, KindSpec] = {
    ImportKind.ACCOUNTS: KindSpec(
        kind=ImportKind.ACCOUNTS,
        model=Account,
        fields=_fields(
            FieldSpec("name", required=True, max_length=200),
            FieldSpec("domain", max_length=200),
            FieldSpec("industry", max_length=100),
            FieldSpec("region", max_length=50),
            FieldSpec("external_id", max_length=100),
        ),
    ),
    ImportKind.CONTACTS: KindSpec(
        kind=ImportKind.CONTACTS,
        model=Contact,
        fields=_fields(
            FieldSpec("first_name", required=True, max_length=100),
            FieldSpec("last_name", max_length=100),
            FieldSpec("email", type="email", max_length=254),
            FieldSpec("phone", type="phone", max_length=40),
            FieldSpec("lifecycle_stage", type="choice", choices=tuple(Contact.Stage.choices)),
            FieldSpec("region", max_length=50),
            FieldSpec("segment", max_length=50),
            FieldSpec("external_id", max_length=100),
            FieldSpec("marketing_opt_out", type="boolean"),
            FieldSpec("do_not_profile", type="boolean"),
            FieldSpec("account_external_id", reference=True),
            FieldSpec("account_name", reference=True),
        ),
        required_any=(("email", "external_id"),),
        attributes=True,
    ),
    ImportKind.INTERACTIONS: KindSpec(
        kind=ImportKind.INTERACTIONS,
        model=Interaction,
        fields=_fields(
            FieldSpec(
                "channel", type="choice", required=True, choices=tuple(Interaction.Channel.choices)
            ),
            FieldSpec("direction", type="choice", choices=tuple(Interaction.Direction.choices)),
            FieldSpec("subject", max_length=250),
            FieldSpec("body", type="multiline"),
            FieldSpec("occurred_at", type="datetime", required=True),
            FieldSpec("contact_external_id", reference=True),
            FieldSpec("contact_email", type="email", reference=True),
        ),
        required_any=(("contact_external_id", "contact_email"),),
    ),
    ImportKind.ORDERS: KindSpec(
        kind=ImportKind.ORDERS,
        model=Order,
        fields=_fields(
            FieldSpec("ordered_at", type="datetime", required=True),
            FieldSpec("status", type="choice", choices=tuple(Order.Status.choices)),
            FieldSpec("total", type="decimal"),
            FieldSpec("external_id", max_length=100),
            FieldSpec("contact_external_id", reference=True),
            FieldSpec("contact_email", type="email", reference=True),
        ),
        required_any=(("contact_external_id", "contact_email"),),
    ),
    # One row per order line; lines are grouped into orders by ``order_id``.
    ImportKind.ORDER_LINES: KindSpec(
        kind=ImportKind.ORDER_LINES,
        model=OrderLine,
        fields=_fields(
            FieldSpec("order_id", required=True, max_length=100),
            FieldSpec("ordered_at", type="datetime", required=True),
            FieldSpec("product_code", required=True, max_length=50),
            FieldSpec("description", max_length=200),
            FieldSpec("quantity", type="integer", required=True),
            FieldSpec("unit_price", type="decimal", required=True),
            FieldSpec("contact_external_id", reference=True),
            FieldSpec("contact_email", type="email", reference=True),
        ),
        required_any=(("contact_external_id", "contact_email"),),
    ),
}


def kind_spec(kind: str) -> KindSpec:
    try:
        return KINDS[kind]
    except KeyError:
        raise ImportInputError(
            f"Unknown kind {kind!r}; expected one of {', '.join(KINDS)}"
        ) from None
