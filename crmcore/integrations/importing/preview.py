"""What the mapping screen shows before anything is written.

:func:`file_preview` reads the start of a file: its encoding and delimiter,
its header, a few values per column, the type each column's values suggest
and the field each column most likely is (by its header's name, then by its
values). :func:`stored_preview` converts the first rows with a mapping, as the
import would store them, each with its reason when it would be rejected.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from crmcore.integrations import cleaning
from crmcore.integrations.importing import attribute_types
from crmcore.integrations.importing.attribute_types import AttributeType
from crmcore.integrations.importing.converting import Converter, Rejected
from crmcore.integrations.importing.mapping import parse_mapping
from crmcore.integrations.importing.reading import (
    ByteSource,
    Row,
    checked_header,
    detect_delimiter_of,
    detect_encoding,
    is_blank,
    read_records,
    text_lines,
)
from crmcore.integrations.importing.results import FileFormat
from crmcore.integrations.importing.specs import ImportInputError, KindSpec

#: Rows read to suggest fields and types, and rows shown converted.
SAMPLE_ROWS = 200
PREVIEW_ROWS = 10
#: Header names (lower case, letters and digits only) that say which field a column is.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "externalid", "customerid", "clientid", "accountid", "contactid"),
    "first_name": ("firstname", "first", "givenname", "forename", "name", "fullname"),
    "last_name": ("lastname", "surname", "familyname", "last"),
    "email": ("email", "emailaddress", "mail", "e-mail"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "mobile", "cell"),
    "lifecycle_stage": ("stage", "lifecyclestage", "status", "churn"),
    "region": ("region", "territory", "area"),
    "segment": ("segment", "tier"),
    "account_name": ("company", "companyname", "account", "accountname", "organisation"),
    "account_external_id": ("companyid", "accountexternalid"),
    "name": ("name", "company", "companyname", "accountname"),
    "domain": ("domain", "website", "web"),
    "industry": ("industry", "sector"),
    "channel": ("channel", "type", "medium"),
    "direction": ("direction",),
    "subject": ("subject", "title"),
    "body": ("body", "text", "message", "notes", "note"),
    "occurred_at": ("date", "occurredat", "datetime", "timestamp", "when"),
    "ordered_at": ("date", "orderdate", "invoicedate", "orderedat", "purchasedate"),
    "status": ("status", "state"),
    "total": ("total", "amount", "ordertotal", "value"),
    "contact_external_id": ("customerid", "clientid", "contactid", "customer", "contact"),
    "contact_email": ("email", "customeremail", "contactemail"),
    "order_id": ("orderid", "invoiceno", "invoice", "orderno", "ordernumber", "invoiceid"),
    "product_code": ("stockcode", "sku", "productcode", "itemcode", "productid", "code"),
    "description": ("description", "product", "productname", "item", "itemname"),
    "quantity": ("quantity", "qty", "units"),
    "unit_price": ("unitprice", "price", "priceeach"),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class ColumnPreview:
    index: int
    header: str
    samples: list[str]
    suggested: str  # a field name, "attributes.<header>", or "" (leave out)
    type: AttributeType  # the type the values suggest


@dataclass(frozen=True)
class FilePreview:
    file_format: FileFormat
    header: list[str]
    columns: list[ColumnPreview]
    rows: list[Row]  # the first rows, as read


@dataclass(frozen=True)
class StoredRow:
    line: int
    values: list[tuple[str, Any]] = field(default_factory=list)
    error: str = ""


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.casefold())


def suggest_field(spec: KindSpec, header: str, samples: list[str], taken: set[str]) -> str:
    """The field a column most likely is: by its header's name, else by its values."""
    name = _squash(header)
    fields = [f for f in spec.fields if f not in taken]
    for candidate in fields:
        if name == _squash(candidate):
            return candidate
    for candidate in fields:
        if name in SYNONYMS.get(candidate, ()):
            return candidate
    present = [s for s in samples if s]
    if present and all(_EMAIL.match(s) for s in present):
        for candidate in ("email", "contact_email"):
            if candidate in fields:
                return candidate
    if present:
        kind = attribute_types.infer(present)
        if kind.type == "date":
            dated = [f for f in fields if spec.fields[f].type in ("date", "datetime")]
            if dated:
                return dated[0]
    return f"attributes.{header}" if spec.attributes and header else ""


def _sample(source: ByteSource, delimiter: str | None) -> tuple[FileFormat, list[Row]]:
    encoding = detect_encoding(source)
    lines = text_lines(source, encoding)
    file_format = FileFormat(
        encoding=encoding,
        delimiter=delimiter or detect_delimiter_of(lines),
        delimiter_detected=delimiter is None,
    )
    records = read_records(lines(), file_format.delimiter)
    try:
        rows = list(itertools.islice((r for r in records if not is_blank(r)), SAMPLE_ROWS + 1))
    except UnicodeDecodeError as exc:
        raise ImportInputError(f"The file cannot be decoded: {exc.reason}") from None
    finally:
        records.close()
    if not rows:
        raise ImportInputError("The file is empty")
    if rows[0].problem:
        raise ImportInputError(f"The header (line 1) is {rows[0].problem}")
    return file_format, rows


def file_preview(
    source: ByteSource, *, spec: KindSpec, delimiter: str | None = None
) -> FilePreview:
    """The start of the file, with a suggested field and type per column."""
    file_format, rows = _sample(source, delimiter)
    header = checked_header(rows[0].cells)
    body = [r for r in rows[1:] if not r.problem and len(r.cells) == len(header)]
    taken: set[str] = set()
    columns = []
    for i, name in enumerate(header):
        values = [cleaning.clean_text(r.cells[i]) for r in body]
        suggested = suggest_field(spec, name, values[:50], taken)
        if suggested and not suggested.startswith("attributes."):
            taken.add(suggested)
        columns.append(
            ColumnPreview(
                index=i,
                header=name,
                samples=[v for v in values if v][:3],
                suggested=suggested,
                type=attribute_types.infer(values),
            )
        )
    return FilePreview(file_format=file_format, header=header, columns=columns, rows=rows[1:])


def stored_preview(source: ByteSource, *, spec: KindSpec, mapping: Any) -> list[StoredRow]:
    """The first rows converted with ``mapping``, as the import would store them.

    References (the account or contact a row names) are resolved only by the
    import itself; the preview shows them as given.
    """
    parsed = parse_mapping(mapping, spec=spec)
    _, rows = _sample(source, parsed.delimiter)
    header = checked_header(rows[0].cells)
    converter = Converter(spec, parsed, header)
    body = rows[1:]
    converter.infer_types([r for r in body if not r.problem])
    shown = []
    for row in body[:PREVIEW_ROWS]:
        if row.problem:
            shown.append(StoredRow(row.line, error=row.problem))
            continue
        try:
            clean = converter.convert(row)
        except Rejected as exc:
            shown.append(StoredRow(row.line, error=str(exc)))
            continue
        values = [(name, value) for name, value in clean.values.items() if value not in ("", None)]
        values += [(f"attributes.{k}", v) for k, v in clean.attributes.items()]
        shown.append(StoredRow(row.line, values=values))
    return shown
