"""CSV that is safe to open in a spreadsheet (OWASP's CSV injection rule).

A spreadsheet reads a cell starting with ``=``, ``+``, ``-`` or ``@`` as a
formula, and one starting with a tab or carriage return can hide such a
character; a formula can run commands or send the sheet's data away. Every
CSV the application writes goes through :func:`csv_writer`, which prefixes
such a text cell with a single quote so it is shown as text. Numbers are
written as they are: a negative number is not a formula.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value``, with a text that a spreadsheet would read as a formula made inert."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` whose every text cell goes through :func:`safe_cell`."""

    def __init__(self, stream: Any, **kwargs: Any) -> None:
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(stream: Any, **kwargs: Any) -> SafeCsvWriter:
    """A CSV writer for anything the application hands to people (exports, reports)."""
    return SafeCsvWriter(stream, **kwargs)
