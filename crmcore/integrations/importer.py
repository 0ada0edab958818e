"""The CSV import engine: mappings, per-kind field specs, streaming in chunks.

A mapping is JSON::

    {"columns": {"CSV column": "field", ...},
     "values": {"field": {"raw": "stored", ...}},
     "unmapped": "attributes",
     "date_order": "dmy", "phone_region": "GB", "delimiter": ";"}

Only ``columns`` is required. ``unmapped: "attributes"`` (contacts only)
keeps every other column in the contact's ``attributes``; a column may also
be mapped to ``attributes.<name>`` and given a type in ``"types"``
(``{"attributes.signup_date": "date"}``: cleaned, and the row rejected when
invalid, like built-in fields). ``date_order`` settles dates such as
03/04/2024 (``dmy``, the default, or ``mdy``); a part above 12 always decides.

The file's encoding (UTF-8 with or without a byte order mark, UTF-16 with
one, else Windows-1252) and delimiter (comma, semicolon, tab or vertical bar;
``"delimiter"`` in the mapping overrides it) are detected and recorded. A
record that is not well-formed CSV (a stray quote, say) is rejected with its
line number and the reading resumes on the next line; the whole file is
refused, with nothing written, only when its header or every row is
unreadable, or when it cannot be decoded (the message says where). Duplicated
headers are refused by name; a cell holding a NUL character and a contact
with more than ``CRMCORE_IMPORT_MAX_ATTRIBUTE_KEYS`` attributes are row errors.

Rows are read with ``csv.reader`` and written in chunks (one transaction, a
few bulk queries each). A row is matched against existing records and
earlier rows of the file by its keys (external id, then email for contacts);
a match is updated only when a value differs, so importing the same file
twice changes nothing. Empty cells never erase a stored value.
"""

from __future__ import annotations

import abc
import codecs
import csv
import datetime as dt
import functools
import io
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, BinaryIO

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from crmcore import services as crm_services
from crmcore.events import emit_many_on_commit
from crmcore.integrations import cleaning
from crmcore.integrations.conf import app_settings
from crmcore.integrations.models import ImportKind
from crmcore.models import Account, Contact, Interaction, Order, Workspace


class ImportInputError(ValueError):
    """The file, kind or mapping is unusable; nothing was imported."""


# Field specs -----------------------------------------------------------------


BOOLEAN_TRUE = frozenset({"yes", "y", "true", "1", "x"})
BOOLEAN_FALSE = frozenset({"no", "n", "false", "0", ""})


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str = "text"  # text, multiline, email, phone, date, datetime, decimal, choice, boolean
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None
    reference: bool = False  # resolves another record; not stored as such


@dataclass(frozen=True)
class KindSpec:
    kind: str
    model: type
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
}


def kind_spec(kind: str) -> KindSpec:
    try:
        return KINDS[kind]
    except KeyError:
        raise ImportInputError(
            f"Unknown kind {kind!r}; expected one of {', '.join(KINDS)}"
        ) from None


# Mappings --------------------------------------------------------------------

_MAPPING_KEYS = {
    "columns",
    "values",
    "types",
    "unmapped",
    "date_order",
    "phone_region",
    "delimiter",
}
# Types a mapped ``attributes.<name>`` column may be given ("types" in the mapping).
ATTRIBUTE_TYPES = ("text", "email", "phone", "date", "datetime", "decimal")


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str]
    values: dict[str, dict[str, str]]
    unmapped_to_attributes: bool
    day_first: bool
    attribute_types: dict[str, str]
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
        day_first=date_order == "dmy",
        phone_region=region.upper() if region else None,
        delimiter=delimiter,
    )


def clean_key(raw: str) -> str:
    return cleaning.clean_text(str(raw)).casefold()


# Results ---------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    @property
    def processed(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with a byte order mark",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
}
DELIMITER_LABELS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


@dataclass(frozen=True)
class FileFormat:
    """How the file was read: its encoding (a Python codec name) and delimiter."""

    encoding: str
    delimiter: str
    delimiter_detected: bool = True

    @property
    def encoding_label(self) -> str:
        return ENCODING_LABELS.get(self.encoding, self.encoding)

    @property
    def delimiter_label(self) -> str:
        return DELIMITER_LABELS.get(self.delimiter, repr(self.delimiter))


@dataclass
class ImportResult:
    kind: str
    total_rows: int
    dry_run: bool
    counts: ImportCounts = field(default_factory=ImportCounts)
    file_format: FileFormat | None = None


# Reading ---------------------------------------------------------------------

#: Opens the file for reading, as bytes (called once per pass over the file).
ByteSource = Callable[[], AbstractContextManager[BinaryIO]]
TextSource = Callable[[], Iterable[str]]

_BLOCK = 1 << 20
# Bytes Windows-1252 leaves undefined: a file holding one is not Windows-1252.
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_SAMPLE_LINES = 50
_SAMPLE_CHARS = 65536


def _blocks(raw: BinaryIO) -> Iterator[bytes]:
    return iter(functools.partial(raw.read, _BLOCK), b"")


def detect_encoding(source: ByteSource) -> str:
    """The file's encoding: UTF-8 (with or without BOM), UTF-16 (with BOM) or Windows-1252.

    UTF-8 is tried over the whole file first; a file that is UTF-8 up to a
    point and then not is refused with the line where it breaks, rather than
    read as Windows-1252 mojibake.
    """
    with source() as raw:
        head = raw.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if head.startswith(b"PK\x03\x04"):
            raise ImportInputError(
                "The file is a spreadsheet or an archive (zip), not CSV text; save it as CSV first"
            )
        decoder = codecs.getincrementaldecoder("utf-8")()
        line, multibyte = 1, False
        try:
            for block in itertools.chain([head], _blocks(raw)):
                text = decoder.decode(block)
                multibyte = multibyte or not text.isascii()
                line += text.count("\n")
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError as exc:
            if multibyte or not exc.object[: exc.start].isascii():
                where = line + exc.object.count(b"\n", 0, exc.start)
                raise ImportInputError(
                    f"The file is UTF-8 text until line {where}, where it is not "
                    f"(byte 0x{exc.object[exc.start]:02X}); save it again as UTF-8"
                ) from None
    with source() as raw:
        line = 1
        for block in _blocks(raw):
            bad = _CP1252_UNDEFINED.search(block)
            if bad is not None:
                where = line + block.count(b"\n", 0, bad.start())
                raise ImportInputError(
                    f"The file is neither UTF-8 nor Windows-1252 text: line {where} holds "
                    f"byte 0x{block[bad.start()]:02X}; save it again as UTF-8"
                )
            line += block.count(b"\n")
    return "cp1252"


def text_lines(source: ByteSource, encoding: str) -> TextSource:
    """The file's lines, decoded (line endings kept, as ``csv`` wants them)."""

    def lines() -> Iterator[str]:
        with source() as raw:
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            try:
                yield from text
            finally:
                if not raw.closed:
                    text.detach()  # the source owns the binary file

    return lines


def detect_delimiter(lines: Iterable[str]) -> str:
    """Comma, semicolon, tab or vertical bar: the one that splits the first lines alike.

    Each candidate reads a sample of the file; the winner gives the header
    at least two columns and the most rows as wide as the header (then the
    widest header); a tie goes to the comma.
    """
    sample: list[str] = []
    size = 0
    for line in itertools.islice(lines, _SAMPLE_LINES):
        sample.append(line)
        size += len(line)
        if size > _SAMPLE_CHARS:
            break
    best, best_score = ",", (0, 0)
    for candidate in DELIMITER_LABELS:
        rows = []
        reader = csv.reader(sample, delimiter=candidate)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error:
                continue
            if any(c.strip() for c in cells):
                rows.append(cells)
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(1 for cells in rows[1:] if len(cells) == width), width)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _detect_delimiter_of(lines: TextSource) -> str:
    sample = iter(lines())
    try:
        return detect_delimiter(sample)
    finally:
        close = getattr(sample, "close", None)
        if close is not None:
            close()


@dataclass(frozen=True)
class _Row:
    line: int
    cells: list[str]
    problem: str = ""  # why the record is not readable CSV


class _HeldLines:
    """Lines handed to ``csv.reader``, holding those of the record being read."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.held: list[str] = []

    def __iter__(self) -> _HeldLines:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.held.append(line)
        return line


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "expected after" in text:
        return (
            "not readable CSV: a quoted value is followed by other text "
            "(quote the whole value and double the quotes inside it)"
        )
    if "unexpected end of data" in text:
        return "not readable CSV: a quoted value is never closed"
    if "field larger than field limit" in text:
        return (
            f"not readable CSV: a value is longer than {csv.field_size_limit()} characters "
            "(a quote never closed?)"
        )
    return f"not readable CSV: {text}"


def _records(lines: Iterable[str], delimiter: str) -> Iterator[_Row]:
    """Records with the line they start on (the header is line 1).

    A record ``csv`` cannot read comes back with its problem; reading resumes
    on the line after the one where that record started, so one stray quote
    costs one row, not the rest of the file. (A quote left open swallows at
    most the field size limit before it is reported.)
    """
    pending: Iterator[str] = iter(lines)
    first = 1
    while True:
        feed = _HeldLines(pending)
        reader = csv.reader(feed, delimiter=delimiter, strict=True)
        base = first - 1
        try:
            for cells in reader:
                yield _Row(first, cells)
                first = base + reader.line_num + 1
                feed.held.clear()
            return
        except csv.Error as exc:
            yield _Row(first, [], _csv_problem(exc))
            pending = itertools.chain(feed.held[1:], pending)
            first += 1


def _is_blank(row: _Row) -> bool:
    return not row.problem and not any(c.strip() for c in row.cells)


def _scan(lines: TextSource, delimiter: str) -> tuple[list[str], int]:
    """Read the whole file once: its header and the number of data rows.

    The file is refused (ImportInputError, nothing written) when its header is
    unreadable, empty, duplicated or holds a NUL, or when no row is readable.
    """
    try:
        records = _records(lines(), delimiter)
        first = next(records, None)
        if first is None:
            raise ImportInputError("The file is empty")
        if first.problem:
            raise ImportInputError(f"The header (line 1) is {first.problem}")
        total = readable = 0
        first_problem: _Row | None = None
        for row in records:
            if _is_blank(row):
                continue
            total += 1
            if row.problem:
                first_problem = first_problem or row
            else:
                readable += 1
    except UnicodeDecodeError as exc:
        raise ImportInputError(f"The file cannot be decoded: {exc.reason}") from None
    except OSError as exc:
        raise ImportInputError(f"The file cannot be read: {exc}") from None
    header = [cleaning.clean_text(h) for h in first.cells]
    if not any(header):
        raise ImportInputError("The file has no header row")
    with_nul = [i + 1 for i, name in enumerate(header) if "\x00" in name]
    if with_nul:
        raise ImportInputError(
            f"The header holds a NUL character (column {', '.join(map(str, with_nul))})"
        )
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        if name:
            positions.setdefault(name, []).append(i + 1)
    doubled = [(name, places) for name, places in positions.items() if len(places) > 1]
    if doubled:
        listed = "; ".join(
            f"{name!r} (columns {', '.join(map(str, places))})" for name, places in doubled
        )
        raise ImportInputError(f"Duplicated column headers: {listed}; rename or remove them")
    if total and not readable and first_problem is not None:
        raise ImportInputError(
            f"No row is readable CSV with the {DELIMITER_LABELS.get(delimiter, repr(delimiter))} "
            f"delimiter; the first problem is on line {first_problem.line}: "
            f"{first_problem.problem}"
        )
    return header, total


# Conversion ------------------------------------------------------------------


class _Rejected(Exception):
    pass


@dataclass
class _Clean:
    line: int
    values: dict[str, Any]
    attributes: dict[str, str]
    keys: list[str] = field(default_factory=list)


class _Converter:
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

    def convert(self, row: _Row) -> _Clean:
        cells = row.cells
        if len(cells) != self.width:
            raise _Rejected(f"has {len(cells)} columns, the header has {self.width}")
        for i in self.used:
            if "\x00" in cells[i]:
                raise _Rejected(f"{self.header[i]} holds a NUL character, which cannot be stored")
        values: dict[str, Any] = {}
        attributes: dict[str, str] = {}
        for i, target in self.targets:
            if target.startswith("attributes."):
                name = target.removeprefix("attributes.")
                type_name = self.mapping.attribute_types.get(target, "text")
                value = self._value(FieldSpec(name, type=type_name), cells[i])
                if value not in (None, ""):
                    attributes[name] = (
                        value.isoformat() if type_name.startswith("date") else str(value)
                    )
                continue
            values[target] = self._value(self.spec.fields[target], cells[i])
        for i, name in self.extra:
            text = cleaning.clean_text(cells[i])
            if text:
                attributes[name] = text
        if len(attributes) > self.max_attributes:
            raise _Rejected(
                f"has {len(attributes)} attributes; a contact has at most {self.max_attributes}"
            )
        for name, spec in self.spec.fields.items():
            if spec.required and values.get(name) in (None, ""):
                raise _Rejected(f"missing required field {name}")
        for group in self.spec.required_any:
            if all(values.get(name) in (None, "") for name in group):
                raise _Rejected(f"missing {' or '.join(group)}")
        return _Clean(line=row.line, values=values, attributes=attributes)

    def _value(self, spec: FieldSpec, raw: str) -> Any:
        text = (
            cleaning.clean_multiline(raw) if spec.type == "multiline" else cleaning.clean_text(raw)
        )
        table = self.mapping.values.get(spec.name)
        if table and text:
            text = table.get(text.casefold(), text)
        if spec.type == "boolean":
            folded = text.casefold()
            if folded in BOOLEAN_TRUE:
                return True
            if folded in BOOLEAN_FALSE:
                return False
            raise _Rejected(f"invalid {spec.name} {text!r} (expected yes or no)")
        if not text:
            return ""
        if spec.type == "email":
            email = cleaning.clean_email(text)
            if email is None:
                raise _Rejected(f"invalid email {text!r}")
            return email
        if spec.type == "phone":
            return cleaning.clean_phone(text, region=self.mapping.phone_region)
        if spec.type == "date":
            day = cleaning.parse_date(text, day_first=self.mapping.day_first)
            if day is None:
                raise _Rejected(f"invalid date {text!r} for {spec.name}")
            return day
        if spec.type == "datetime":
            value = cleaning.parse_datetime(text, day_first=self.mapping.day_first, tz=self.tz)
            if value is None:
                raise _Rejected(f"invalid date {text!r} for {spec.name}")
            return value
        if spec.type == "decimal":
            number = cleaning.parse_decimal(text)
            if number is None:
                raise _Rejected(f"invalid number {text!r} for {spec.name}")
            return number
        if spec.type == "choice":
            folded = text.casefold()
            for value, label in spec.choices:
                if folded in (value.casefold(), label.casefold()):
                    return value
            allowed = ", ".join(value for value, _ in spec.choices)
            raise _Rejected(f"invalid {spec.name} {text!r} (expected one of {allowed})")
        if spec.max_length and len(text) > spec.max_length:
            raise _Rejected(f"{spec.name} is longer than {spec.max_length} characters")
        return text


# Per-kind writers ------------------------------------------------------------


class _Writer(abc.ABC):
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

    @abc.abstractmethod
    def keys(self, row: _Clean) -> list[str]:
        """Keys that identify a record: "x:<external id>", "e:<email>", ..."""

    @abc.abstractmethod
    def lookup(self, rows: list[_Clean]) -> dict[str, Any]:
        """Existing records of the chunk, by key."""

    def resolve(self, rows: list[_Clean], errors: list[RowError]) -> list[_Clean]:
        """Resolve references (account, contact); rows that cannot are rejected."""
        return rows

    def build(self, row: _Clean) -> Any:
        """A new record; fields left empty keep the model's defaults."""
        values = {
            name: row.values[name]
            for name in self.stored_fields
            if row.values.get(name) not in (None, "")
        }
        return self.spec.model(workspace=self.workspace, **values)

    def refusal(self, row: _Clean, obj: Any, existing: dict[str, Any]) -> str | None:
        """Why the row cannot update ``obj`` (another of its keys is another record's), or None."""
        return None

    def changes(self, obj: Any, row: _Clean) -> list[str]:
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
        self, chunk: list[_Clean], counts: ImportCounts, errors: list[RowError]
    ) -> None:
        fresh: list[_Clean] = []
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


class _AccountWriter(_Writer):
    stored_fields = ("name", "domain", "industry", "region", "external_id")

    def keys(self, row: _Clean) -> list[str]:
        keys = []
        if row.values.get("external_id"):
            keys.append(f"x:{row.values['external_id']}")
        keys.append(f"n:{row.values['name']}")
        return keys

    def lookup(self, rows: list[_Clean]) -> dict[str, Any]:
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


class _ContactWriter(_Writer):
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
        "do_not_profile",
    )

    def payload(self, obj: Any) -> dict[str, Any]:
        return crm_services.contact_payload(obj)

    def keys(self, row: _Clean) -> list[str]:
        keys = []
        if row.values.get("external_id"):
            keys.append(f"x:{row.values['external_id']}")
        if row.values.get("email"):
            keys.append(f"e:{row.values['email']}")
        return keys

    def resolve(self, rows: list[_Clean], errors: list[RowError]) -> list[_Clean]:
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

    def build(self, row: _Clean) -> Any:
        row.values.pop("account_external_id", None)
        row.values.pop("account_name", None)
        contact = super().build(row)
        contact.attributes = dict(row.attributes)
        return contact

    def refusal(self, row: _Clean, obj: Any, existing: dict[str, Any]) -> str | None:
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

    def changes(self, obj: Any, row: _Clean) -> list[str]:
        if row.values.get("email") and row.values["email"] == (obj.email or "").lower():
            row.values["email"] = obj.email  # the same address: its stored case is kept
        changed = super().changes(obj, row)
        if row.attributes:
            merged = {**(obj.attributes or {}), **row.attributes}
            if merged != obj.attributes:
                obj.attributes = merged
                changed.append("attributes")
        return changed

    def lookup(self, rows: list[_Clean]) -> dict[str, Any]:
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


class _ContactChildWriter(_Writer):
    """Interactions and orders: rows name their contact by external id or email."""

    def resolve(self, rows: list[_Clean], errors: list[RowError]) -> list[_Clean]:
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


class _InteractionWriter(_ContactChildWriter):
    created_event = "interaction.created"
    stored_fields = ("contact_id", "channel", "direction", "subject", "body", "occurred_at")

    def payload(self, obj: Any) -> dict[str, Any]:
        return crm_services.interaction_payload(obj)

    def keys(self, row: _Clean) -> list[str]:
        values = row.values
        moment = self.contact_key(values["contact_id"], values["occurred_at"])
        return [f"{moment}|{values['channel']}|{values.get('subject', '')}"]

    def lookup(self, rows: list[_Clean]) -> dict[str, Any]:
        contacts = {r.values["contact_id"] for r in rows}
        moments = {r.values["occurred_at"] for r in rows}
        found: dict[str, Any] = {}
        scoped = Interaction.objects.in_workspace(self.workspace).order_by("id")
        for item in scoped.filter(contact_id__in=contacts, occurred_at__in=moments):
            moment = self.contact_key(item.contact_id, item.occurred_at)
            found.setdefault(f"{moment}|{item.channel}|{item.subject}", item)
        return found


class _OrderWriter(_ContactChildWriter):
    stored_fields = ("contact_id", "ordered_at", "status", "total", "external_id")

    def keys(self, row: _Clean) -> list[str]:
        keys = []
        if row.values.get("external_id"):
            keys.append(f"x:{row.values['external_id']}")
        keys.append(self.contact_key(row.values["contact_id"], row.values["ordered_at"]))
        return keys

    def changes(self, obj: Any, row: _Clean) -> list[str]:
        if isinstance(row.values.get("total"), Decimal) and obj.total is not None:
            obj.total = Decimal(obj.total).quantize(Decimal("0.01"))
        return super().changes(obj, row)

    def lookup(self, rows: list[_Clean]) -> dict[str, Any]:
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


_WRITERS: dict[str, type[_Writer]] = {
    ImportKind.ACCOUNTS: _AccountWriter,
    ImportKind.CONTACTS: _ContactWriter,
    ImportKind.INTERACTIONS: _InteractionWriter,
    ImportKind.ORDERS: _OrderWriter,
}


# The run ---------------------------------------------------------------------


class _DryRunRollback(Exception):
    pass


def run_import(
    *,
    workspace: Workspace,
    kind: str,
    source: ByteSource,
    mapping: Any,
    dry_run: bool = False,
    chunk_size: int = 1000,
    on_chunk: Callable[[ImportResult, list[RowError]], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_format: Callable[[FileFormat], None] | None = None,
    notify_subscribers: bool = True,
) -> ImportResult:
    """Import the CSV file that ``source()`` opens (as bytes; opened once per pass).

    Raises ImportInputError, with nothing written, when the kind, file or
    mapping is unusable. ``on_format(file_format)`` is called once the
    encoding and delimiter are known, ``on_start(total)`` once the rows are
    counted, ``on_chunk(result, errors)`` after each chunk is written (in its
    transaction) with that chunk's rejected rows. With ``dry_run`` everything
    is computed and rolled back.

    Each chunk writes its records' domain events (``contact.created``,
    ``contact.updated``, ``interaction.created``) to the outbox with it; with
    ``notify_subscribers`` off they reach the in-process listeners (analysis)
    but no webhook.
    """
    spec = kind_spec(kind)
    parsed = parse_mapping(mapping, spec=spec)
    encoding = detect_encoding(source)
    lines = text_lines(source, encoding)
    file_format = FileFormat(
        encoding=encoding,
        delimiter=parsed.delimiter or _detect_delimiter_of(lines),
        delimiter_detected=parsed.delimiter is None,
    )
    if on_format is not None:
        on_format(file_format)
    delimiter = file_format.delimiter
    header, total = _scan(lines, delimiter)
    converter = _Converter(spec, parsed, header)
    writer = _WRITERS[spec.kind](workspace, spec, dry_run, notify_subscribers)
    result = ImportResult(
        kind=spec.kind, total_rows=total, dry_run=dry_run, file_format=file_format
    )
    if on_start is not None:
        on_start(total)

    def chunks() -> Iterator[list[_Row]]:
        records = _records(lines(), delimiter)
        next(records)
        rows = (row for row in records if not _is_blank(row))
        while batch := list(itertools.islice(rows, chunk_size)):
            yield batch

    def process(batch: list[_Row]) -> None:
        errors: list[RowError] = []
        clean: list[_Clean] = []
        for row in batch:
            if row.problem:
                errors.append(RowError(row.line, row.problem))
                continue
            try:
                clean.append(converter.convert(row))
            except _Rejected as exc:
                errors.append(RowError(row.line, str(exc)))
        writer.write_chunk(clean, result.counts, errors)
        result.counts.rejected += len(errors)
        errors.sort(key=lambda e: e.line)
        if on_chunk is not None:
            on_chunk(result, errors)

    try:
        if dry_run:
            try:
                with transaction.atomic():
                    for batch in chunks():
                        process(batch)
                    raise _DryRunRollback
            except _DryRunRollback:
                pass
        else:
            for batch in chunks():
                # A record written meanwhile by someone else (a contact with one
                # of the chunk's emails, say) fails the chunk on a unique
                # constraint: it is rolled back and read again once, matching
                # that record this time.
                before = (replace(result.counts), dict(writer.seen), dict(writer.matched))
                try:
                    with transaction.atomic():
                        process(batch)
                except IntegrityError:
                    result.counts = replace(before[0])
                    writer.seen, writer.matched = dict(before[1]), dict(before[2])
                    with transaction.atomic():
                        process(batch)
    except UnicodeDecodeError as exc:  # the file changed between the passes
        raise ImportInputError(f"The file cannot be decoded: {exc.reason}") from None
    return result
