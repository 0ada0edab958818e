"""crmcore.db: the query planner's statistics after bulk writes, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from crmcore import factories
from crmcore.db import planner_statistics_refresh
from crmcore.models import Account, Contact, Interaction

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _sqlite_statistics() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return {}
        cursor.execute("SELECT idx, stat FROM sqlite_stat1 WHERE idx IS NOT NULL")
        return dict(cursor.fetchall())


def _database_now() -> dt.datetime | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def _analysed_tables(since: dt.datetime | None) -> set[str]:
    """Tables with planner statistics (SQLite), or analysed by hand since ``since`` (PostgreSQL)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone() is None:
                return set()
            cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
            return {row[0] for row in cursor.fetchall()}
        # Statistics are read through a per-transaction snapshot: take a fresh one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT relname FROM pg_stat_user_tables WHERE last_analyze >= %s", [since])
        return {row[0] for row in cursor.fetchall()}


def test_planner_statistics_refresh__after_bulk_write__sqlite_learns_index_selectivity(
    workspace,
):
    contact = factories.ContactFactory(workspace=workspace)
    factories.InteractionFactory.create_batch(12, workspace=workspace, contact=contact)
    since = _database_now()

    refreshed = planner_statistics_refresh()

    assert refreshed is True
    if connection.vendor == "sqlite":
        # "rows, rows per workspace": the planner now knows one workspace is
        # all twelve rows, so it no longer walks that index to find a few ids.
        assert _sqlite_statistics()["interaction_ws_date"].split()[:2] == ["12", "12"]
    else:
        assert {"crmcore_interaction", "crmcore_contact"} <= _analysed_tables(since)


def test_planner_statistics_refresh__given_models__exactly_their_tables_analysed(workspace):
    contact = factories.ContactFactory(workspace=workspace)
    factories.InteractionFactory.create_batch(3, workspace=workspace, contact=contact)
    since = _database_now()

    refreshed = planner_statistics_refresh(models=[Contact, Interaction])

    assert refreshed is True
    analysed = _analysed_tables(since)
    assert {"crmcore_contact", "crmcore_interaction"} <= analysed
    assert Account._meta.db_table not in analysed


def test_import_csv__bulk_write__written_table_analysed(workspace):
    since = _database_now()

    call_command(
        "import_csv",
        "contacts",
        str(FIXTURES / "sample_contacts_messy.csv"),
        "--mapping",
        str(FIXTURES / "sample_contacts_mapping.json"),
        stdout=StringIO(),
        verbosity=0,
    )

    analysed = _analysed_tables(since)
    assert Contact.objects.in_workspace(workspace).count() == 17
    assert "crmcore_contact" in analysed
    assert "crmcore_deal" not in analysed
