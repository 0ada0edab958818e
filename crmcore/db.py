"""Database upkeep that Django leaves to the project."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

#: Rows SQLite's ANALYZE reads per index: approximate statistics in
#: milliseconds, however large the tables.
ANALYSIS_LIMIT = 1000


def planner_statistics_refresh(*, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Refresh SQLite's query-planner statistics after a bulk write.

    SQLite keeps no statistics of its own. Without them its planner takes
    every index as selective, so for ``workspace_id = ? AND interaction_id IN
    (...)`` it may walk the single-column ``workspace_id`` index, every row of
    the workspace, instead of looking the few ids up: a contact page that
    grows slower with the workspace. With statistics it knows a workspace
    holds most of the rows. PostgreSQL's autovacuum keeps its statistics
    current by itself; there this does nothing and returns False.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
        cursor.execute("ANALYZE")
    return True
