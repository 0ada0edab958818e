"""The CSV import engine's public names, where callers have always imported them.

The engine lives in ``crmcore.integrations.importing``, one module per job:
``specs`` (kinds and fields), ``mapping`` (mapping validation), ``reading``
(encoding, delimiter, records), ``converting``, ``writers`` and ``run``.
"""

from __future__ import annotations

from crmcore.integrations.importing.converting import CleanRow, Converter, Rejected
from crmcore.integrations.importing.mapping import (
    ATTRIBUTE_TYPES,
    Mapping,
    clean_key,
    parse_mapping,
)
from crmcore.integrations.importing.reading import (
    ByteSource,
    TextSource,
    detect_delimiter,
    detect_encoding,
    text_lines,
)
from crmcore.integrations.importing.results import (
    DELIMITER_LABELS,
    ENCODING_LABELS,
    FileFormat,
    ImportCounts,
    ImportResult,
    RowError,
)
from crmcore.integrations.importing.run import WRITERS, run_import
from crmcore.integrations.importing.specs import (
    KINDS,
    FieldSpec,
    ImportInputError,
    KindSpec,
    kind_spec,
)
from crmcore.integrations.importing.writers import ContactWriter, Writer

__all__ = [
    "ATTRIBUTE_TYPES",
    "DELIMITER_LABELS",
    "ENCODING_LABELS",
    "KINDS",
    "WRITERS",
    "ByteSource",
    "CleanRow",
    "ContactWriter",
    "Converter",
    "FieldSpec",
    "FileFormat",
    "ImportCounts",
    "ImportInputError",
    "ImportResult",
    "KindSpec",
    "Mapping",
    "Rejected",
    "RowError",
    "TextSource",
    "Writer",
    "clean_key",
    "detect_delimiter",
    "detect_encoding",
    "kind_spec",
    "parse_mapping",
    "run_import",
    "text_lines",
]
