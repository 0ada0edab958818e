"""Mapping validation: the JSON a user gives, checked against a kind's fields."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from crmcore.integrations import cleaning
from crmcore.integrations.importing.specs import ImportInputError, KindSpec

_MAPPING_KEYS = {
    "columns",
    "values",
    "types",
    "units",
    "unmapped",
    "date_order",
    "phone_region",
    "delimiter",
}
# Types a mapped ``attributes.<name>`` column may be given ("types" in the mapping);
# "number" may have a unit ("units": {"attributes.tenure": "months"}).
ATTRIBUTE_TYPES = (
    "date",
    "number",
    "boolean",
    "category",
    "text",
    "datetime",
    "decimal",
    "email",
    "phone",
)


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str]
    values: dict[str, dict[str, str]]
    unmapped_to_attributes: bool
    day_first: bool
    attribute_types: dict[str, str]
    attribute_units: dict[str, str]
    phone_region: str | None
    delimiter: str | None  # None: detected from the file


def parse_mapping(data: Any, *, spec: KindSpec) -> Mapping:
    """Validate a mapping (a dict, or JSON text) for ``spec``; ImportInputError if unusable."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ImportInputError(f"The mapping is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ImportInputError("The mapping must be a JSON object")
    unknown_keys = sorted(set(data) - _MAPPING_KEYS)
    if unknown_keys:
        raise ImportInputError(f"Unknown mapping keys: {', '.join(unknown_keys)}")
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise ImportInputError('The mapping needs "columns": {"CSV column": "field", ...}')
    for column, target in columns.items():
        if not isinstance(target, str):
            raise ImportInputError(f"Column {column!r} must map to a field name")
        if target.startswith("attributes."):
            if not spec.attributes or target == "attributes.":
                raise ImportInputError(f"Column {column!r} maps to unknown field {target!r}")
        elif target not in spec.fields:
            raise ImportInputError(
                f"Column {column!r} maps to unknown field {target!r}; "
                f"{spec.kind} fields are: {', '.join(spec.field_names())}"
            )
    targets = [t for t in columns.values() if not t.startswith("attributes.")]
    doubled = sorted({t for t in targets if targets.count(t) > 1})
    if doubled:
        raise ImportInputError(f"Several columns map to {', '.join(doubled)}")
    missing = [name for name, f in spec.fields.items() if f.required and name not in targets]
    if missing:
        raise ImportInputError(f"Required fields are not mapped: {', '.join(missing)}")
    for group in spec.required_any:
        if not set(group) & set(targets):
            raise ImportInputError(f"Map at least one of: {', '.join(group)}")
    values = data.get("values", {})
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise ImportInputError('"values" must be {"field": {"raw": "stored"}}')
    for name in values:
        if name not in spec.fields:
            raise ImportInputError(f'"values" names unknown field {name!r}')
    types = data.get("types", {})
    if not isinstance(types, dict):
        raise ImportInputError('"types" must be {"attributes.<name>": "date", ...}')
    attribute_targets = {t for t in columns.values() if t.startswith("attributes.")}
    for target, type_name in types.items():
        if target not in attribute_targets:
            raise ImportInputError(f'"types" names {target!r}, which no column maps to')
        if type_name not in ATTRIBUTE_TYPES:
            raise ImportInputError(
                f"Unknown type {type_name!r} for {target}; one of: {', '.join(ATTRIBUTE_TYPES)}"
            )
    units = data.get("units", {})
    if not isinstance(units, dict):
        raise ImportInputError('"units" must be {"attributes.<name>": "months", ...}')
    for target, unit in units.items():
        if types.get(target) != "number":
            raise ImportInputError(f'"units" names {target!r}, which is not typed "number"')
        if not isinstance(unit, str) or not 0 < len(unit) <= 20 or "\x00" in unit:
            raise ImportInputError(f"The unit of {target} must be 1 to 20 characters")
    unmapped = data.get("unmapped")
    if unmapped not in (None, "ignore", "attributes"):
        raise ImportInputError('"unmapped" must be "attributes" or "ignore"')
    if unmapped == "attributes" and not spec.attributes:
        raise ImportInputError(
            f'"unmapped": "attributes" only applies to contacts, not {spec.kind}'
        )
    date_order = data.get("date_order", "dmy")
    if date_order not in ("dmy", "mdy"):
        raise ImportInputError('"date_order" must be "dmy" or "mdy"')
    delimiter = data.get("delimiter")
    if delimiter is not None and (
        not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n\x00'
    ):
        raise ImportInputError('"delimiter" must be one character (not a quote or a line break)')
    texts = [*columns, *columns.values()]
    texts += [text for table in values.values() for pair in table.items() for text in pair]
    if any(isinstance(text, str) and "\x00" in text for text in texts):
        raise ImportInputError("The mapping contains a NUL character")
    region = data.get("phone_region")
    if region is not None and not (isinstance(region, str) and len(region) == 2):
        raise ImportInputError('"phone_region" must be a two-letter country code')
    return Mapping(
        columns=dict(columns),
        values={
            name: {clean_key(raw): str(stored) for raw, stored in table.items()}
            for name, table in values.items()
        },
        unmapped_to_attributes=unmapped == "attributes",
        attribute_types=dict(types),
        attribute_units={target: unit.strip() for target, unit in units.items()},
        day_first=date_order == "dmy",
        phone_region=region.upper() if region else None,
        delimiter=delimiter,
    )


def clean_key(raw: str) -> str:
    return cleaning.clean_text(str(raw)).casefold()
