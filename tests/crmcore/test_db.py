"""crmcore.db: the query planner's statistics after bulk writes."""

from __future__ import annotations

import pytest
from django.db import connection

from crmcore import factories
from crmcore.db import planner_statistics_refresh

pytestmark = pytest.mark.django_db


def _sqlite_statistics() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return {}
        cursor.execute("SELECT idx, stat FROM sqlite_stat1 WHERE idx IS NOT NULL")
        return dict(cursor.fetchall())


def test_planner_statistics_refresh__after_bulk_write__sqlite_learns_index_selectivity(
    workspace,
):
    contact = factories.ContactFactory(workspace=workspace)
    factories.InteractionFactory.create_batch(12, workspace=workspace, contact=contact)

    refreshed = planner_statistics_refresh()

    if connection.vendor == "sqlite":
        # "rows, rows per workspace": the planner now knows one workspace is
        # all twelve rows, so it no longer walks that index to find a few ids.
        stats = _sqlite_statistics()
        assert refreshed is True
        assert stats["interaction_ws_date"].split()[:2] == ["12", "12"]
    else:  # PostgreSQL's autovacuum keeps its own statistics.
        assert refreshed is False
