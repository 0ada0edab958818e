"""Database upkeep that Django leaves to the project."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

#: Rows SQLite's ANALYZE reads per index: approximate statistics in
#: milliseconds, however large the tables.
ANALYSIS_LIMIT = 1000


def planner_statistics_refresh(
    *, models: Iterable[type[Model]] = (), using: str = DEFAULT_DB_ALIAS
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
