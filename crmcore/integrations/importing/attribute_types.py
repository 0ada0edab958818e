"""Types of imported contact attributes: inferred from a file's values, or set in the mapping.

An attribute column is a ``date`` (stored as an ISO date), a ``number`` with an
optional unit ("12 months", "$29.85", "5 GB": stored as the plain number, the
unit kept with the type), ``boolean`` (yes/no, true/false, 1/0: stored as
"yes" or "no"), a ``category`` (a few repeated values) or ``text`` (free text
or identifiers). A type set in the mapping (``"types"``, with ``"units"``) is
enforced: a value that does not read as it rejects the row. An inferred type
only normalises the values that read as it and keeps the others as they are.

The types of a workspace's attributes are saved with each import
(:class:`~crmcore.integrations.models.ContactAttributeType`), where readers of
the attributes (the churn model's features) find them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from crmcore.integrations import cleaning
from crmcore.integrations.models import ContactAttributeType
from crmcore.models import Workspace

#: The types an attribute can be given; the first five are inferred.
INFERRED_TYPES = ("date", "number", "boolean", "category", "text")
TYPE_LABELS = {
    "date": "date",
    "number": "number",
    "boolean": "yes/no",
    "category": "category",
    "text": "free text",
    "datetime": "date and time",
    "decimal": "number",
    "email": "email",
    "phone": "phone",
}
YES = frozenset({"yes", "y", "true", "t", "1"})
NO = frozenset({"no", "n", "false", "f", "0"})
_NUMBER = re.compile(
    r"^(?P<pre>[$€£¥])?\s*(?P<num>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+)"
    r"\s*(?P<unit>%|[A-Za-z][A-Za-z ./]{0,19})?$"
)
_LEADING_ZERO = re.compile(r"^[+-]?0\d")
_CURRENCIES = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
#: A category has at most this many distinct values in the sample, and repeats.
MAX_CATEGORIES = 50
#: Share of a sample's values that must read as a type for it to be inferred.
AGREEMENT = 0.95


@dataclass(frozen=True)
class AttributeType:
    type: str
    unit: str = ""
    declared: bool = False

    @property
    def label(self) -> str:
        text = TYPE_LABELS.get(self.type, self.type)
        return f"{text} ({self.unit})" if self.unit else text


def read_number(text: str) -> tuple[Decimal, str] | None:
    """A number and its unit ("12 months" -> (12, "months"), "$29.85" -> (29.85, "USD"))."""
    match = _NUMBER.match(text.strip())
    if match is None:
        return None
    try:
        number = Decimal(match["num"].replace(",", ""))
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
        return None
    unit = (match["unit"] or "").strip()
    if match["pre"]:
        unit = unit or _CURRENCIES[match["pre"]]
    return number, unit


def read_boolean(text: str) -> bool | None:
    folded = text.strip().casefold()
    if folded in YES:
        return True
    if folded in NO:
        return False
    return None


def infer(values: Iterable[str], *, day_first: bool = True) -> AttributeType:
    """The type of a column from a sample of its (cleaned) values; empty values are ignored."""
    present = [v for v in values if v]
    if not present:
        return AttributeType("text")
    need = AGREEMENT * len(present)
    if sum(read_boolean(v) is not None for v in present) >= need:
        return AttributeType("boolean")
    if sum(cleaning.parse_date(v, day_first=day_first) is not None for v in present) >= need:
        return AttributeType("date")
    numbers = [read_number(v) for v in present]
    # Codes written with leading zeros (zip codes, account numbers) are not numbers.
    codes = any(_LEADING_ZERO.match(v) for v in present)
    if not codes and sum(n is not None for n in numbers) >= need:
        units = Counter(n[1] for n in numbers if n is not None)
        unit, _ = units.most_common(1)[0]
        return AttributeType("number", unit)
    distinct = Counter(present)
    if len(distinct) <= MAX_CATEGORIES and len(distinct) < len(present):
        return AttributeType("category")
    return AttributeType("text")


#: How the other types a mapping can give an attribute are recorded.
_STORED_AS = {"datetime": "date", "decimal": "number", "email": "text", "phone": "text"}


class InvalidValue(ValueError):
    pass


def normalise(kind: AttributeType, text: str, *, day_first: bool = True) -> str:
    """The value stored for ``text`` (cleaned, not empty) of an attribute of type ``kind``.

    InvalidValue when it does not read as the type; an inferred type keeps such
    a value as it is instead.
    """
    stored: str | None = text
    if kind.type == "date":
        day = cleaning.parse_date(text, day_first=day_first)
        stored = day.isoformat() if day else None
    elif kind.type == "number":
        number = read_number(text)
        stored = None if number is None else _plain(number[0])
    elif kind.type == "boolean":
        flag = read_boolean(text)
        stored = None if flag is None else ("yes" if flag else "no")
    if stored is None:
        if kind.declared:
            raise InvalidValue(f"{text!r} is not a {TYPE_LABELS.get(kind.type, kind.type)}")
        return text
    return stored


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def attribute_types_save(*, workspace: Workspace, kinds: dict[str, AttributeType]) -> None:
    """Record the types an import gave a workspace's attributes.

    A type set in a mapping replaces any; an inferred one never replaces a set one.
    """
    stored = {
        row.key: row
        for row in ContactAttributeType.objects.in_workspace(workspace).filter(key__in=kinds)
    }
    for key, kind in kinds.items():
        if kind.type not in INFERRED_TYPES:
            kind = AttributeType(_STORED_AS.get(kind.type, "text"), kind.unit, kind.declared)
        row = stored.get(key)
        if row is not None and row.declared and not kind.declared:
            continue
        if row is None:
            ContactAttributeType.objects.create(
                workspace=workspace,
                key=key[:200],
                type=kind.type,
                unit=kind.unit[:20],
                declared=kind.declared,
            )
        elif (row.type, row.unit, row.declared) != (kind.type, kind.unit, kind.declared):
            row.type, row.unit, row.declared = kind.type, kind.unit[:20], kind.declared
            row.save(update_fields=["type", "unit", "declared", "updated_at"])
