"""Converting a CSV record into clean values for a kind's fields (or rejecting it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from crmcore.integrations import cleaning
from crmcore.integrations.conf import app_settings
from crmcore.integrations.importing import attribute_types
from crmcore.integrations.importing.attribute_types import AttributeType
from crmcore.integrations.importing.mapping import Mapping
from crmcore.integrations.importing.reading import Row
from crmcore.integrations.importing.specs import FieldSpec, ImportInputError, KindSpec

#: Cells a ``boolean`` field reads as yes and as no (case-insensitive).
BOOLEAN_TRUE = frozenset({"yes", "y", "true", "t", "1", "x", "opted out", "opt out", "opt-out"})
BOOLEAN_FALSE = frozenset({"no", "n", "false", "f", "0", "subscribed", "opted in"})

#: The largest whole number a field of the kinds stores (a 32-bit integer column).
MAX_INTEGER = 2**31 - 1


_TEXT = AttributeType("text")


class Rejected(Exception):
    pass


@dataclass
class CleanRow:
    line: int
    values: dict[str, Any]
    attributes: dict[str, str]
    keys: list[str] = field(default_factory=list)


class Converter:
    def __init__(self, spec: KindSpec, mapping: Mapping, header: list[str]) -> None:
        self.spec = spec
        self.mapping = mapping
        self.width = len(header)
        index = {name: i for i, name in enumerate(header)}
        absent = [c for c in mapping.columns if cleaning.clean_text(c) not in index]
        if absent:
            raise ImportInputError(f"Columns not in the file: {', '.join(absent)}")
        self.targets = [
            (index[cleaning.clean_text(column)], target)
            for column, target in mapping.columns.items()
        ]
        mapped = {i for i, _ in self.targets}
        self.extra = (
            [(i, name) for i, name in enumerate(header) if i not in mapped and name]
            if mapping.unmapped_to_attributes
            else []
        )
        self.header = header
        self.used = sorted(mapped | {i for i, _ in self.extra})
        self.max_attributes = app_settings.IMPORT_MAX_ATTRIBUTE_KEYS
        self.tz = timezone.get_current_timezone()
        # Attribute name -> its type: the mapping's, else inferred (see infer_types).
        self.attribute_kinds: dict[str, AttributeType] = {
            target.removeprefix("attributes."): AttributeType(
                type_name, mapping.attribute_units.get(target, ""), declared=True
            )
            for target, type_name in mapping.attribute_types.items()
        }

    def attribute_columns(self) -> list[tuple[int, str]]:
        """(column index, attribute name) of every column stored in the attributes."""
        mapped = [
            (i, target.removeprefix("attributes."))
            for i, target in self.targets
            if target.startswith("attributes.")
        ]
        return mapped + self.extra

    def infer_types(self, sample: list[Row]) -> None:
        """Infer the type of each attribute column the mapping leaves untyped."""
        for i, name in self.attribute_columns():
            if name in self.attribute_kinds:
                continue
            values = [
                cleaning.clean_text(row.cells[i]) for row in sample if len(row.cells) == self.width
            ]
            self.attribute_kinds[name] = attribute_types.infer(
                values, day_first=self.mapping.day_first
            )

    def convert(self, row: Row) -> CleanRow:
        cells = row.cells
        if len(cells) != self.width:
            raise Rejected(f"has {len(cells)} columns, the header has {self.width}")
        for i in self.used:
            if "\x00" in cells[i]:
                raise Rejected(f"{self.header[i]} holds a NUL character, which cannot be stored")
        values: dict[str, Any] = {}
        attributes: dict[str, str] = {}
        for i, target in self.targets:
            if target.startswith("attributes."):
                name = target.removeprefix("attributes.")
                value = self._attribute(name, cells[i])
                if value:
                    attributes[name] = value
                continue
            values[target] = self._value(self.spec.fields[target], cells[i])
        for i, name in self.extra:
            value = self._attribute(name, cells[i])
            if value:
                attributes[name] = value
        if len(attributes) > self.max_attributes:
            raise Rejected(
                f"has {len(attributes)} attributes; a contact has at most {self.max_attributes}"
            )
        for name, spec in self.spec.fields.items():
            if spec.required and values.get(name) in (None, ""):
                raise Rejected(f"missing required field {name}")
        for group in self.spec.required_any:
            if all(values.get(name) in (None, "") for name in group):
                raise Rejected(f"missing {' or '.join(group)}")
        return CleanRow(line=row.line, values=values, attributes=attributes)

    def _attribute(self, name: str, raw: str) -> str:
        """The stored text of an attribute ("" when empty); Rejected when its declared type
        does not read it."""
        kind = self.attribute_kinds.get(name, _TEXT)
        if kind.type not in attribute_types.INFERRED_TYPES:  # email, phone, datetime, decimal
            value = self._value(FieldSpec(name, type=kind.type), raw)
            if value in (None, ""):
                return ""
            return value.isoformat() if kind.type == "datetime" else str(value)
        text = cleaning.clean_text(raw)
        if not text:
            return ""
        try:
            return attribute_types.normalise(kind, text, day_first=self.mapping.day_first)
        except attribute_types.InvalidValue:
            label = attribute_types.TYPE_LABELS[kind.type]
            raise Rejected(f"invalid {label} {text!r} for {name}") from None

    def _value(self, spec: FieldSpec, raw: str) -> Any:
        text = (
            cleaning.clean_multiline(raw) if spec.type == "multiline" else cleaning.clean_text(raw)
        )
        table = self.mapping.values.get(spec.name)
        if table and text:
            text = table.get(text.casefold(), text)
        if not text:
            return ""
        if spec.type == "email":
            email = cleaning.clean_email(text)
            if email is None:
                raise Rejected(f"invalid email {text!r}")
            return email
        if spec.type == "phone":
            return cleaning.clean_phone(text, region=self.mapping.phone_region)
        if spec.type == "date":
            day = cleaning.parse_date(text, day_first=self.mapping.day_first)
            if day is None:
                raise Rejected(f"invalid date {text!r} for {spec.name}")
            return day
        if spec.type == "datetime":
            moment = cleaning.parse_datetime(text, day_first=self.mapping.day_first, tz=self.tz)
            if moment is None:
                raise Rejected(f"invalid date {text!r} for {spec.name}")
            return moment
        if spec.type == "decimal":
            number = cleaning.parse_decimal(text)
            if number is None:
                raise Rejected(f"invalid number {text!r} for {spec.name}")
            return number
        if spec.type == "integer":
            whole = cleaning.parse_decimal(text)
            if whole is None or whole != whole.to_integral_value() or abs(whole) > MAX_INTEGER:
                raise Rejected(f"invalid whole number {text!r} for {spec.name}")
            return int(whole)
        if spec.type == "boolean":
            folded = text.casefold()
            if folded in BOOLEAN_TRUE:
                return True
            if folded in BOOLEAN_FALSE:
                return False
            raise Rejected(f"invalid {spec.name} {text!r} (expected yes or no)")
        if spec.type == "choice":
            folded = text.casefold()
            for value, label in spec.choices:
                if folded in (value.casefold(), label.casefold()):
                    return value
            allowed = ", ".join(value for value, _ in spec.choices)
            raise Rejected(f"invalid {spec.name} {text!r} (expected one of {allowed})")
        if spec.max_length and len(text) > spec.max_length:
            raise Rejected(f"{spec.name} is longer than {spec.max_length} characters")
        return text
