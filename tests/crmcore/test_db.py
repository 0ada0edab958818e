"""crmcore.db: raw SQL helpers (upsert, multi-row insert, driver-value reads) on
SQLite and PostgreSQL, and the query planner's statistics after bulk writes."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Max, Sum

from crmcore import db, factories
from crmcore.db import (
    RowMismatch,
    adapt_datetime,
    driver_rows,
    insert,
    insert_instances,
    planner_statistics_refresh,
    upsert,
)
from crmcore.models import Account, Contact, Deal, Interaction, Order, Product

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

WHEN = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


class ProductRow(NamedTuple):
    workspace_id: int
    sku: str
    name: str
    category: str
    price: Decimal


class OtherProductRow(NamedTuple):
    workspace_id: int
    sku: str
    name: str
    category: str
    price: Decimal


class ContactRow(NamedTuple):
    workspace_id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    lifecycle_stage: str
    region: str
    segment: str
    external_id: str
    marketing_opt_out: bool
    do_not_profile: bool
    attributes: str  # JSON, encoded
    created_at: Any
    updated_at: Any


def _contact_row(workspace, first_name: str, **attributes: Any) -> ContactRow:
    return ContactRow(
        workspace_id=workspace.pk,
        first_name=first_name,
        last_name="Lovelace",
        email="",
        phone="",
        lifecycle_stage=Contact.Stage.CUSTOMER,
        region="EMEA",
        segment="SMB",
        external_id="",
        marketing_opt_out=False,
        do_not_profile=False,
        attributes=json.dumps(attributes),
        created_at=adapt_datetime(WHEN),
        updated_at=adapt_datetime(WHEN),
    )


def _products(workspace) -> list[tuple[str, str, str, Decimal]]:
    return list(
        Product.objects.in_workspace(workspace)
        .order_by("sku")
        .values_list("sku", "name", "category", "price")
    )


# --------------------------------------------------------------------------- upsert


def test_upsert__new_and_existing_keys__inserts_new_and_updates_existing(workspace):
    factories.ProductFactory(
        workspace=workspace, sku="A-1", name="Old", category="x", price=Decimal("1.00")
    )

    upsert(
        Product,
        [
            ProductRow(workspace.pk, "A-1", "Renamed", "tools", Decimal("2.50")),
            ProductRow(workspace.pk, "B-2", "New", "toys", Decimal("3.00")),
        ],
        unique=("workspace_id", "sku"),
    )

    assert _products(workspace) == [
        ("A-1", "Renamed", "tools", Decimal("2.50")),
        ("B-2", "New", "toys", Decimal("3.00")),
    ]


def test_upsert__same_key_in_another_workspace__separate_rows(workspace, sandbox):
    factories.ProductFactory(workspace=workspace, sku="A-1", name="Production")

    upsert(
        Product,
        [ProductRow(sandbox.pk, "A-1", "Sandbox", "", Decimal("0"))],
        unique=("workspace_id", "sku"),
    )

    assert [p[:2] for p in _products(workspace)] == [("A-1", "Production")]
    assert [p[:2] for p in _products(sandbox)] == [("A-1", "Sandbox")]


def test_upsert__no_rows__no_query(workspace, django_assert_num_queries):
    with django_assert_num_queries(0):
        upsert(Product, [], unique=("workspace_id", "sku"))


def test_upsert__fields_without_unique_constraint__refused(workspace):
    rows = [ProductRow(workspace.pk, "A-1", "Name", "", Decimal("1"))]

    with pytest.raises(RowMismatch, match=r"Product has no unique constraint on exactly \(sku\)"):
        upsert(Product, rows, unique=("sku",))
    assert _products(workspace) == []


def test_upsert__conflict_field_not_in_rows__refused(workspace):
    class NameRow(NamedTuple):
        workspace_id: int
        name: str

    with pytest.raises(RowMismatch, match="The conflict fields sku are not fields of the rows"):
        upsert(Product, [NameRow(workspace.pk, "Name")], unique=("workspace_id", "sku"))


def test_upsert__unknown_field__names_it_and_the_columns(workspace):
    class TypoRow(NamedTuple):
        workspace_id: int
        sku: str
        nmae: str

    with pytest.raises(RowMismatch, match=r"Product has no column nmae; row fields are its"):
        upsert(Product, [TypoRow(workspace.pk, "A-1", "Name")], unique=("workspace_id", "sku"))


def test_upsert__plain_tuples__refused(workspace):
    with pytest.raises(RowMismatch, match="Rows must be named tuples"):
        upsert(Product, [(workspace.pk, "A-1", "Name", "", Decimal("1"))], unique=("sku",))


def test_upsert__rows_of_two_types__refused(workspace):
    rows = [
        ProductRow(workspace.pk, "A-1", "Name", "", Decimal("1")),
        OtherProductRow(workspace.pk, "B-2", "Name", "", Decimal("1")),
    ]

    with pytest.raises(RowMismatch, match="OtherProductRow among ProductRow rows"):
        upsert(Product, rows, unique=("workspace_id", "sku"))
    assert _products(workspace) == []


# --------------------------------------------------------------------------- insert


def test_insert__returning__primary_keys_in_row_order_and_values_stored(workspace):
    rows = [_contact_row(workspace, name, tier=i) for i, name in enumerate(["Ada", "Bo", "Cy"])]

    pks = insert(Contact, rows, returning=True)

    stored = list(Contact.objects.in_workspace(workspace).order_by("pk"))
    assert pks == [c.pk for c in stored]
    assert [(c.first_name, c.attributes, c.created_at) for c in stored] == [
        ("Ada", {"tier": 0}, WHEN),
        ("Bo", {"tier": 1}, WHEN),
        ("Cy", {"tier": 2}, WHEN),
    ]


def test_insert__without_returning__rows_stored_and_no_keys(workspace):
    rows = [_contact_row(workspace, "Ada"), _contact_row(workspace, "Bo")]

    assert insert(Contact, rows) == []
    assert sorted(Contact.objects.in_workspace(workspace).values_list("first_name", flat=True)) == [
        "Ada",
        "Bo",
    ]


def test_insert__more_rows_than_a_batch__every_key_returned(workspace, monkeypatch):
    monkeypatch.setattr(db, "MAX_BATCH", 2)
    rows = [_contact_row(workspace, f"C{i}") for i in range(5)]

    pks = insert(Contact, rows, returning=True)

    stored = Contact.objects.in_workspace(workspace).order_by("pk")
    assert pks == list(stored.values_list("pk", flat=True))
    assert list(stored.values_list("first_name", flat=True)) == ["C0", "C1", "C2", "C3", "C4"]


def test_insert__plain_tuples__refused(workspace):
    with pytest.raises(RowMismatch, match="Rows must be named tuples"):
        insert(Contact, [tuple(_contact_row(workspace, "Ada"))])
    assert not Contact.objects.in_workspace(workspace).exists()


# --------------------------------------------------------------------------- insert_instances


def test_insert_instances__returning__sets_primary_keys_and_auto_dates(workspace):
    accounts = [Account(workspace_id=workspace.pk, name=f"Acme {i}") for i in range(3)]

    insert_instances(Account, accounts, returning=True)

    stored = list(Account.objects.in_workspace(workspace).order_by("pk"))
    assert [a.pk for a in accounts] == [a.pk for a in stored]
    assert [a.name for a in stored] == ["Acme 0", "Acme 1", "Acme 2"]
    assert all(a.created_at is not None and a.updated_at is not None for a in stored)
    assert [a._state.adding for a in accounts] == [False, False, False]


def test_insert_instances__dates_decimals_json__converted(workspace):
    contact = factories.ContactFactory(workspace=workspace)
    deal = Deal(
        workspace_id=workspace.pk,
        contact_id=contact.pk,
        name="Renewal",
        amount=Decimal("1234.50"),
        expected_close=dt.date(2026, 7, 1),
    )
    lead = Contact(workspace_id=workspace.pk, first_name="Ada", attributes={"tier": "gold"})

    insert_instances(Deal, [deal], returning=False)
    insert_instances(Contact, [lead], returning=False)

    stored = Deal.objects.get(name="Renewal")
    assert (stored.amount, stored.expected_close) == (Decimal("1234.50"), dt.date(2026, 7, 1))
    assert Contact.objects.get(first_name="Ada").attributes == {"tier": "gold"}


# --------------------------------------------------------------------------- driver_rows


class OrderTotals(NamedTuple):
    contact_id: int
    n: int
    spend: Any
    last: Any


def _order_totals(**filters: Any):
    return (
        Order.objects.filter(**filters)
        .values("contact_id")
        .annotate(n=Count("pk"), spend=Sum("total"), last=Max("ordered_at"))
        .order_by()
    )


def test_driver_rows__aggregates__driver_values_as_named_tuples(workspace):
    contact = factories.ContactFactory(workspace=workspace)
    earlier = WHEN - dt.timedelta(days=3)
    factories.OrderFactory(workspace=workspace, contact=contact, total="12.50", ordered_at=earlier)
    factories.OrderFactory(workspace=workspace, contact=contact, total="7.50", ordered_at=WHEN)

    [row] = list(driver_rows(_order_totals(contact=contact), OrderTotals))

    assert type(row) is OrderTotals
    assert (row.contact_id, row.n, float(row.spend)) == (contact.pk, 2, 20.0)
    if connection.vendor == "sqlite":  # an aggregate of a datetime column: text
        assert dt.datetime.fromisoformat(row.last) == WHEN.replace(tzinfo=None)
    else:
        assert row.last == WHEN


def test_driver_rows__datetime_column__not_converted(workspace):
    class Created(NamedTuple):
        pk: int
        ordered_at: Any

    order = factories.OrderFactory(workspace=workspace, ordered_at=WHEN)

    [row] = list(driver_rows(Order.objects.filter(pk=order.pk).values("pk", "ordered_at"), Created))

    # SQLite stores UTC without an offset; PostgreSQL answers an aware datetime.
    expected = WHEN.replace(tzinfo=None) if connection.vendor == "sqlite" else WHEN
    assert row == Created(order.pk, expected)


def test_driver_rows__other_column_order__refused(workspace):
    class Swapped(NamedTuple):
        n: int
        contact_id: int

    qs = Order.objects.values("contact_id").annotate(n=Count("pk")).order_by()

    with pytest.raises(
        RowMismatch,
        match=r"The query's columns \(contact_id, n\) are not Swapped's \(n, contact_id\)",
    ):
        list(driver_rows(qs, Swapped))


def test_driver_rows__not_a_values_query__refused(workspace):
    with pytest.raises(RowMismatch, match=r"The query's columns \(\) are not OrderTotals's"):
        list(driver_rows(Order.objects.all(), OrderTotals))


def test_driver_rows__plain_tuple_type__refused(workspace):
    with pytest.raises(RowMismatch, match="tuple is not a named tuple"):
        list(driver_rows(_order_totals(), tuple))


def test_driver_rows__empty_filter__no_rows_and_no_query(workspace, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert list(driver_rows(_order_totals(pk__in=[]), OrderTotals)) == []


def test_driver_rows__more_rows_than_a_fetch__all_rows(workspace, monkeypatch):
    monkeypatch.setattr(db, "FETCH_SIZE", 2)
    contacts = factories.ContactFactory.create_batch(5, workspace=workspace)
    for contact in contacts:
        factories.OrderFactory(workspace=workspace, contact=contact)

    rows = sorted(driver_rows(_order_totals(workspace=workspace), OrderTotals))

    assert [(r.contact_id, r.n) for r in rows] == [(c.pk, 1) for c in contacts]


# --------------------------------------------------------------------------- planner statistics


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
