"""The run: read, convert and write a file chunk by chunk, or compute and roll back."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from django.db import IntegrityError, transaction

from crmcore.integrations.importing.attribute_types import attribute_types_save
from crmcore.integrations.importing.converting import CleanRow, Converter, Rejected
from crmcore.integrations.importing.mapping import parse_mapping
from crmcore.integrations.importing.order_lines import OrderLineWriter
from crmcore.integrations.importing.reading import (
    ByteSource,
    Row,
    TextSource,
    detect_delimiter_of,
    detect_encoding,
    is_blank,
    read_records,
    scan,
    text_lines,
)
from crmcore.integrations.importing.results import FileFormat, ImportResult, RowError
from crmcore.integrations.importing.specs import ImportInputError, kind_spec
from crmcore.integrations.importing.writers import (
    AccountWriter,
    ContactWriter,
    InteractionWriter,
    OrderWriter,
    Writer,
)
from crmcore.integrations.models import ImportKind
from crmcore.models import Workspace

WRITERS: dict[str, type[Writer]] = {
    ImportKind.ACCOUNTS: AccountWriter,
    ImportKind.CONTACTS: ContactWriter,
    ImportKind.INTERACTIONS: InteractionWriter,
    ImportKind.ORDERS: OrderWriter,
    ImportKind.ORDER_LINES: OrderLineWriter,
}


#: Rows read to infer the type of attribute columns the mapping leaves untyped.
TYPE_SAMPLE_ROWS = 1000


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
        delimiter=parsed.delimiter or detect_delimiter_of(lines),
        delimiter_detected=parsed.delimiter is None,
    )
    if on_format is not None:
        on_format(file_format)
    delimiter = file_format.delimiter
    header, total = scan(lines, delimiter)
    converter = Converter(spec, parsed, header)
    if converter.attribute_columns():
        converter.infer_types(_sample(lines, delimiter))
    writer = WRITERS[spec.kind](workspace, spec, dry_run, notify_subscribers)
    result = ImportResult(
        kind=spec.kind,
        total_rows=total,
        dry_run=dry_run,
        file_format=file_format,
        attribute_types=converter.attribute_kinds,
    )
    if on_start is not None:
        on_start(total)

    def chunks() -> Iterator[list[Row]]:
        records = read_records(lines(), delimiter)
        next(records)
        rows = (row for row in records if not is_blank(row))
        while batch := list(itertools.islice(rows, chunk_size)):
            yield batch

    def process(batch: list[Row]) -> None:
        errors: list[RowError] = []
        clean: list[CleanRow] = []
        for row in batch:
            if row.problem:
                errors.append(RowError(row.line, row.problem))
                continue
            try:
                clean.append(converter.convert(row))
            except Rejected as exc:
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
                before = (replace(result.counts), writer.snapshot())
                try:
                    with transaction.atomic():
                        process(batch)
                except IntegrityError:
                    result.counts = replace(before[0])
                    writer.restore(before[1])
                    with transaction.atomic():
                        process(batch)
    except UnicodeDecodeError as exc:  # the file changed between the passes
        raise ImportInputError(f"The file cannot be decoded: {exc.reason}") from None
    if not dry_run and result.attribute_types:
        attribute_types_save(workspace=workspace, kinds=result.attribute_types)
    return result


def _sample(lines: TextSource, delimiter: str) -> list[Row]:
    """The first readable rows of the file, from which untyped attribute columns are typed."""
    records = read_records(lines(), delimiter)
    try:
        next(records)
        readable = (row for row in records if not row.problem and not is_blank(row))
        return list(itertools.islice(readable, TYPE_SAMPLE_ROWS))
    finally:
        records.close()
