"""Bulk writes of computed rows, shared by the capabilities' batch jobs.

``bulk_create(update_conflicts=True)`` builds a model instance per row,
prepares every value through its field (a JSON field encodes each value) and
compiles the statement per batch. For a chunk of rows a job has just computed
that costs more than the write itself, so the jobs write their chunks with
:func:`upsert_rows`: one ``INSERT ... ON CONFLICT (...) DO UPDATE`` statement
run with ``executemany``, the same SQL on SQLite and PostgreSQL.

Rows are plain tuples of database-ready values: JSON already encoded
(``json.dumps``) and datetimes passed through :func:`db_datetime`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.db import connections, models
from django.db.utils import DEFAULT_DB_ALIAS


@lru_cache(maxsize=64)
def _upsert_sql(
    vendor: str, table: str, columns: tuple[str, ...], conflict: tuple[str, ...]
) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c not in conflict)
    return (
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET {updates}"
    )


def upsert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    conflict: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Insert ``rows`` into ``model``'s table, updating the rows whose
    ``conflict`` columns (a unique constraint) already exist.

    ``columns`` are database column names (``contact_id``, not ``contact``);
    every row has a value per column, in that order.
    """
    if not rows:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    sql = _upsert_sql(connection.vendor, model._meta.db_table, tuple(columns), tuple(conflict))
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def db_datetime(value: dt.datetime | None) -> Any:
    """A datetime as the database driver takes it in :func:`upsert_rows`."""
    return connections[DEFAULT_DB_ALIAS].ops.adapt_datetimefield_value(value)
