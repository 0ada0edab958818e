"""The project's raw SQL, in one place.

The ORM does nearly everything. A few bulk paths cost more in the ORM's
per-value work than in the database, so they use the helpers here, on SQLite
and PostgreSQL alike:

* :func:`upsert` and :func:`insert` write rows a job has computed. Rows are
  named tuples whose field names are the model's attribute names
  (``contact_id``, not ``contact``); the columns come from the model's
  ``_meta`` and every row is checked to be of one named-tuple type, so a
  column list and a tuple cannot drift apart unnoticed. Values are what the
  driver takes: JSON already encoded (``json.dumps``), datetimes passed
  through :func:`adapt_datetime`, foreign keys as ids.
* :func:`insert_instances` writes unsaved model instances (the demo-data
  generator's), converting only the values the backend needs converted.
* :func:`driver_rows` reads a ``values()`` query as the driver returns it,
  without Django's per-value converters, as named tuples checked against the
  query's columns.
* :func:`planner_statistics_refresh` refreshes SQLite's planner statistics
  after a bulk write.

``bulk_create`` builds and prepares a model instance per row and compiles the
statement per batch; ``make bench`` prints what the helpers gain over it.
Like ``bulk_create`` they send no signals.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, NotSupportedError, connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

#: Rows SQLite's ANALYZE reads per index: approximate statistics in
#: milliseconds, however large the tables.
ANALYSIS_LIMIT = 1000
#: Rows per multi-row ``INSERT ... RETURNING`` (fewer where the backend's
#: parameter limit says so).
MAX_BATCH = 1000
#: Rows fetched from the driver at a time by :func:`driver_rows`.
FETCH_SIZE = 2000

Row = TypeVar("Row", bound=tuple[Any, ...])
Model = TypeVar("Model", bound=models.Model)

# Field types whose Python values every supported backend accepts as they are.
_AS_IS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)


class RowMismatch(ValueError):
    """Rows that do not match the columns of their model or query."""


# --------------------------------------------------------------------------- rows


def _row_fields(rows: Sequence[tuple[Any, ...]]) -> tuple[str, ...]:
    """The field names of ``rows``, which must all be of one named-tuple type."""
    row_type = type(rows[0])
    fields = getattr(row_type, "_fields", None)
    if not isinstance(fields, tuple):
        raise RowMismatch(
            f"Rows must be named tuples whose fields name the columns, not {row_type.__name__}"
        )
    for row in rows:
        if type(row) is not row_type:
            raise RowMismatch(
                f"Rows of one call must share one type: {type(row).__name__} among "
                f"{row_type.__name__} rows"
            )
    return fields


@lru_cache(maxsize=256)
def _columns(model: type[models.Model], fields: tuple[str, ...]) -> tuple[str, ...]:
    """The database columns of ``model`` named by ``fields`` (attribute names)."""
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    unknown = [name for name in fields if name not in by_attname]
    if unknown:
        raise RowMismatch(
            f"{model.__name__} has no column {', '.join(unknown)}; row fields are its "
            f"attribute names: {', '.join(by_attname)}"
        )
    return tuple(by_attname[name].column for name in fields)


@lru_cache(maxsize=64)
def _unique_column_sets(model: type[models.Model]) -> frozenset[frozenset[str]]:
    """Every set of columns that a unique constraint of ``model`` covers."""
    opts = model._meta
    column = {f.name: f.column for f in opts.concrete_fields}
    sets = {frozenset([f.column]) for f in opts.concrete_fields if f.unique}
    for together in opts.unique_together:
        sets.add(frozenset(column[name] for name in together))
    for constraint in opts.total_unique_constraints:
        sets.add(frozenset(column[name] for name in constraint.fields))
    return frozenset(sets)


def _plain(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows as plain tuples, which drivers bind faster than named ones
    (sqlite3 takes a slower path for a tuple subclass: about 10% of an upsert)."""
    return [tuple(row) for row in rows]


def _connection(model: type[models.Model], using: str | None) -> BaseDatabaseWrapper:
    return connections[using or router.db_for_write(model)]


def adapt_datetime(value: dt.datetime | None, *, using: str = DEFAULT_DB_ALIAS) -> Any:
    """A datetime as the driver takes it in a row for :func:`upsert` or :func:`insert`."""
    return connections[using].ops.adapt_datetimefield_value(value)


# --------------------------------------------------------------------------- writes


@lru_cache(maxsize=64)
def _upsert_sql(alias: str, table: str, columns: tuple[str, ...], unique: tuple[str, ...]) -> str:
    quote = connections[alias].ops.quote_name
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c not in unique)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    return (
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(quote(c) for c in unique)}) {action}"
    )


def upsert(
    model: type[models.Model],
    rows: Sequence[tuple[Any, ...]],
    *,
    unique: Sequence[str],
    using: str | None = None,
) -> None:
    """Insert ``rows`` into ``model``'s table; a row whose ``unique`` fields match
    an existing row's updates that row's other columns instead.

    One ``INSERT ... ON CONFLICT (...) DO UPDATE`` statement run with
    ``executemany``. ``unique`` names the fields of one of the model's unique
    constraints (a unique field, ``unique_together`` or a ``UniqueConstraint``
    without a condition); every one must be a field of the rows.
    """
    if not rows:
        return
    fields = _row_fields(rows)
    missing = [name for name in unique if name not in fields]
    if missing:
        raise RowMismatch(f"The conflict fields {', '.join(missing)} are not fields of the rows")
    columns = _columns(model, fields)
    unique_columns = _columns(model, tuple(unique))
    if frozenset(unique_columns) not in _unique_column_sets(model):
        raise RowMismatch(
            f"{model.__name__} has no unique constraint on exactly ({', '.join(unique)})"
        )
    connection = _connection(model, using)
    sql = _upsert_sql(connection.alias, model._meta.db_table, columns, unique_columns)
    with connection.cursor() as cursor:
        cursor.executemany(sql, _plain(rows))


def insert(
    model: type[models.Model],
    rows: Sequence[tuple[Any, ...]],
    *,
    returning: bool = False,
    using: str | None = None,
) -> list[Any]:
    """INSERT ``rows`` into ``model``'s table; their new primary keys, in order,
    when ``returning`` (else an empty list).

    Without ``returning``: one statement run with ``executemany``. With it:
    multi-row ``INSERT ... RETURNING`` statements of up to ``MAX_BATCH`` rows.
    """
    if not rows:
        return []
    columns = _columns(model, _row_fields(rows))
    connection = _connection(model, using)
    if returning and not connection.features.can_return_rows_from_bulk_insert:
        raise NotSupportedError(f"{connection.vendor} cannot return rows from a bulk insert")
    return _insert(connection, model, columns, _plain(rows), returning=returning)


def _insert(
    connection: BaseDatabaseWrapper,
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: bool,
) -> list[Any]:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(c) for c in columns)
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        if not returning:
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES {row_sql}", rows)
            return []
        pk = quote(model._meta.pk.column)
        size = _batch_size(connection, len(columns), len(rows))
        pks: list[Any] = []
        for begin in range(0, len(rows), size):
            batch = rows[begin : begin + size]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([row_sql] * len(batch))} "
                f"RETURNING {pk}",
                [value for row in batch for value in row],
            )
            pks.extend(pk_value for (pk_value,) in cursor.fetchall())
        return pks


def _batch_size(connection: BaseDatabaseWrapper, columns: int, rows: int) -> int:
    """Rows per multi-row INSERT: up to ``MAX_BATCH``, within the backend's parameter limit.

    Django assumes SQLite's historical limit of 999 parameters; the SQLite
    actually linked says its own (250,000 for recent builds).
    """
    limit = connection.features.max_query_params
    if connection.vendor == "sqlite":
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(MAX_BATCH, rows, (limit or MAX_BATCH * columns) // columns))


def _converter(
    field: models.Field[Any, Any], connection: BaseDatabaseWrapper
) -> Callable[[Any], Any] | None:
    """What turns a Python value of ``field`` into a driver value; None: nothing."""
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.DecimalField):
        max_digits, places = field.max_digits, field.decimal_places
        return lambda value: ops.adapt_decimalfield_value(value, max_digits, places)
    if isinstance(field, _AS_IS) and not isinstance(field, models.JSONField):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def insert_instances(
    model: type[Model], objs: Sequence[Model], *, returning: bool, using: str | None = None
) -> None:
    """INSERT unsaved ``objs`` (primary key unset); set their pks when ``returning``.

    Converts only what the backend needs converted (datetimes, dates,
    decimals, JSON, through the connection's own adapters) and fills
    ``auto_now`` fields and the ``auto_now_add`` fields left empty. A backend that cannot return
    rows from a bulk insert gets ``bulk_create`` instead.
    """
    if not objs:
        return
    connection = _connection(model, using)
    if returning and not connection.features.can_return_rows_from_bulk_insert:
        model._default_manager.using(connection.alias).bulk_create(objs)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    plan: list[tuple[str, Any, Callable[[Any], Any] | None]] = []
    for f in fields:
        if getattr(f, "auto_now_add", False) and any(
            obj.__dict__.get(f.attname) is not None for obj in objs
        ):
            # A date the caller gave (a customer's signup): kept, the rest get now.
            for obj in objs:
                if obj.__dict__.get(f.attname) is None:
                    obj.__dict__[f.attname] = now
            plan.append((f.attname, None, _converter(f, connection)))
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            for obj in objs:
                obj.__dict__[f.attname] = now
            converter = _converter(f, connection)
            plan.append((f.attname, converter(now) if converter else now, None))
        else:
            plan.append((f.attname, None, _converter(f, connection)))
    rows = []
    for obj in objs:
        values = obj.__dict__
        rows.append(
            [
                fixed if fixed is not None else (convert(values[name]) if convert else values[name])
                for name, fixed, convert in plan
            ]
        )
    pks = _insert(connection, model, [f.column for f in fields], rows, returning=returning)
    for obj, pk_value in zip(objs, pks, strict=returning):
        obj.pk = pk_value
        obj._state.adding = False
        obj._state.db = connection.alias


# --------------------------------------------------------------------------- reads


def driver_rows(queryset: models.QuerySet[Any, Any], row_type: type[Row]) -> Iterator[Row]:
    """The rows of a ``values()`` queryset as the driver returns them, as ``row_type``.

    Skips Django's per-value converters (a datetime parsed and made aware, a
    sum turned into a ``Decimal``), which can cost more than an aggregate
    query itself over many rows: SQLite returns a datetime column as a naive
    UTC datetime and an aggregate of one as text, PostgreSQL aware datetimes.
    ``row_type`` is a named tuple whose fields are the query's columns in
    order (``values()`` names, then annotations); a mismatch raises
    :class:`RowMismatch`.
    """
    fields = getattr(row_type, "_fields", None)
    if not isinstance(fields, tuple):
        raise RowMismatch(f"{row_type.__name__} is not a named tuple")
    query = queryset.query
    columns = (*query.extra_select, *query.values_select, *query.annotation_select)
    if columns != fields:
        raise RowMismatch(
            f"The query's columns ({', '.join(columns)}) are not {row_type.__name__}'s "
            f"({', '.join(fields)})"
        )
    try:
        sql, params = query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:
        return
    make: Callable[[Sequence[Any]], Row] = row_type._make  # type: ignore[attr-defined]
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        if len(cursor.description) != len(fields):
            raise RowMismatch(
                f"The query returns {len(cursor.description)} columns, {row_type.__name__} "
                f"has {len(fields)}"
            )
        while chunk := cursor.fetchmany(FETCH_SIZE):
            yield from map(make, chunk)


# --------------------------------------------------------------------------- upkeep


def planner_statistics_refresh(
    *, models: Iterable[type[models.Model]] = (), using: str = DEFAULT_DB_ALIAS
) -> bool:
    """Refresh the query planner's statistics after a bulk write.

    ``models`` are the tables the writer touched; none means every table.
    Returns True when statistics were refreshed (SQLite and PostgreSQL).

    SQLite keeps no statistics of its own. Without them its planner takes
    every index as selective, so for ``workspace_id = ? AND interaction_id IN
    (...)`` it may walk the single-column ``workspace_id`` index, every row of
    the workspace, instead of looking the few ids up: a contact page that
    grows slower with the workspace. With statistics it knows a workspace
    holds most of the rows.

    PostgreSQL's autovacuum analyses a table some time after it changed, or
    never when it is off. Right after a bulk load the planner still holds the
    empty tables' estimates (a few hundred rows) and picks nested loops over
    every row: training on freshly seeded data ran for over 14 minutes where
    it takes seconds once analysed. ``ANALYZE`` of the written tables samples
    a bounded number of rows (``default_statistics_target``), so it takes
    about a second even at millions of rows.
    """
    connection = connections[using]
    tables = sorted({model._meta.db_table for model in models})
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
            if not tables:
                cursor.execute("ANALYZE")
            for table in tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
        return True
    if connection.vendor == "postgresql":
        quoted = ", ".join(connection.ops.quote_name(table) for table in tables)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {quoted}" if quoted else "ANALYZE")
        return True
    return False
