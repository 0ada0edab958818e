"""Reading a CSV file: its encoding, its delimiter, its records with their line numbers."""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

from crmcore.integrations import cleaning
from crmcore.integrations.importing.results import DELIMITER_LABELS
from crmcore.integrations.importing.specs import ImportInputError

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


def detect_delimiter_of(lines: TextSource) -> str:
    sample = iter(lines())
    try:
        return detect_delimiter(sample)
    except UnicodeDecodeError as exc:
        raise ImportInputError(f"The file cannot be decoded: {exc.reason}") from None
    finally:
        close = getattr(sample, "close", None)
        if close is not None:
            close()


@dataclass(frozen=True)
class Row:
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


def read_records(lines: Iterable[str], delimiter: str) -> Generator[Row, None, None]:
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
                yield Row(first, cells)
                first = base + reader.line_num + 1
                feed.held.clear()
            return
        except csv.Error as exc:
            yield Row(first, [], _csv_problem(exc))
            pending = itertools.chain(feed.held[1:], pending)
            first += 1


def is_blank(row: Row) -> bool:
    return not row.problem and not any(c.strip() for c in row.cells)


def scan(lines: TextSource, delimiter: str) -> tuple[list[str], int]:
    """Read the whole file once: its header and the number of data rows.

    The file is refused (ImportInputError, nothing written) when its header is
    unreadable, empty, duplicated or holds a NUL, or when no row is readable.
    """
    try:
        records = read_records(lines(), delimiter)
        first = next(records, None)
        if first is None:
            raise ImportInputError("The file is empty")
        if first.problem:
            raise ImportInputError(f"The header (line 1) is {first.problem}")
        total = readable = 0
        first_problem: Row | None = None
        for row in records:
            if is_blank(row):
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
    header = checked_header(first.cells)
    if total and not readable and first_problem is not None:
        raise ImportInputError(
            f"No row is readable CSV with the {DELIMITER_LABELS.get(delimiter, repr(delimiter))} "
            f"delimiter; the first problem is on line {first_problem.line}: "
            f"{first_problem.problem}"
        )
    return header, total


def checked_header(cells: list[str]) -> list[str]:
    """The cleaned header; ImportInputError when it is empty, holds a NUL or repeats a name."""
    header = [cleaning.clean_text(h) for h in cells]
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
    return header
