"""What an import reports: counts, rejected rows and how the file was read."""

from __future__ import annotations

from dataclasses import dataclass, field

from crmcore.integrations.importing.attribute_types import AttributeType
from crmcore.integrations.models import DELIMITER_LABELS, ENCODING_LABELS


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
    #: Attribute name -> its type (set in the mapping, or inferred from the file).
    attribute_types: dict[str, AttributeType] = field(default_factory=dict)
