"""Seeding rate of the demo generator against a raw ``executemany`` of the same rows.

    python -m benchmarks.bench_seeding [--contacts 5000] [--repeat 3]

1. ``generate_workspace_data`` (building the rows and writing them) in a new
   workspace, best of ``--repeat``, as rows per second.
2. Baseline: the very rows it wrote, read back as stored values and inserted
   again (into another workspace) with a plain ``sqlite3`` cursor's
   ``executemany``, table by table, in one transaction.
3. The generator's writer (``crmcore.db.insert_instances``) against Django's
   ``bulk_create`` for the same interaction instances (the largest table).
"""

from __future__ import annotations

import argparse

from benchmarks.harness import best_of, line, report, section, setup_django

TABLES = (
    "crmcore_account",
    "crmcore_contact",
    "crmcore_product",
    "crmcore_order",
    "crmcore_orderline",
    "crmcore_interaction",
    "crmcore_deal",
    "crmcore_campaign",
)


def _new_workspace(name: str):
    from crmcore.models import Workspace

    return Workspace.objects.create(name=name, kind=Workspace.Kind.PRODUCTION)


def _stored_rows(raw, workspace_id: int) -> dict[str, tuple[list[str], list[list]]]:
    """Every generated row of the workspace as stored, without its id."""
    dump = {}
    for table in TABLES:
        columns = [row[1] for row in raw.execute(f'PRAGMA table_info("{table}")') if row[1] != "id"]
        select = ", ".join(f'"{c}"' for c in columns)
        rows = [
            list(r)
            for r in raw.execute(
                f'SELECT {select} FROM "{table}" WHERE workspace_id = ?', [workspace_id]
            )
        ]
        dump[table] = (columns, rows)
    return dump


def _raw_insert(raw, dump, workspace_id: int) -> None:
    raw.execute("BEGIN")
    for table, (columns, rows) in dump.items():
        at = columns.index("workspace_id")
        for row in rows:
            row[at] = workspace_id
        placeholders = ", ".join("?" * len(columns))
        names = ", ".join(f'"{c}"' for c in columns)
        raw.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({placeholders})', rows)
    raw.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    setup_django()

    from django.db import connection, transaction

    from crmcore.db import insert_instances
    from crmcore.models import Interaction
    from training_sandbox.generator import generate_workspace_data

    section(f"seeding: {args.contacts:,} contacts with their history")
    summaries = []

    def seed():
        workspace = _new_workspace(f"Bench {len(summaries)}")
        summaries.append(
            generate_workspace_data(workspace=workspace, contacts=args.contacts, seed=42)
        )

    seconds = best_of(seed, repeat=args.repeat)
    summary = summaries[-1]
    line(
        f"{summary.rows:,} rows: {summary.contacts:,} contacts, {summary.accounts:,} accounts, "
        f"{summary.orders:,} orders, {summary.order_lines:,} order lines, "
        f"{summary.interactions:,} interactions, {summary.deals:,} deals"
    )

    connection.ensure_connection()
    raw = connection.connection
    dump = _stored_rows(raw, summary.workspace_id)
    assert sum(len(rows) for _, rows in dump.values()) == summary.rows
    targets = []

    def prepare():
        targets.append(_new_workspace(f"Raw {len(targets)}").pk)

    raw_seconds = best_of(
        lambda: _raw_insert(raw, dump, targets[-1]), repeat=args.repeat, setup=prepare
    )
    report(
        "seeding",
        rate=(summary.rows, seconds),
        baseline=("raw executemany", summary.rows, raw_seconds),
        unit="rows",
    )
    line(f"seeding: {args.contacts / seconds:,.0f} contacts/s (with their history)")

    section("insert_instances against bulk_create (interactions)")
    fields = [f.attname for f in Interaction._meta.concrete_fields if not f.primary_key]
    values = list(Interaction.objects.filter(workspace_id=summary.workspace_id).values(*fields))
    batches = []

    def build():
        workspace_id = _new_workspace(f"Interactions {len(batches)}").pk
        batches.append([Interaction(**{**v, "workspace_id": workspace_id}) for v in values])

    def write_with(fn):
        def run():
            with transaction.atomic():
                fn(batches[-1])

        return run

    ours = best_of(
        write_with(lambda objs: insert_instances(Interaction, objs, returning=False)),
        repeat=args.repeat,
        setup=build,
    )
    django_seconds = best_of(
        write_with(lambda objs: Interaction.objects.bulk_create(objs)),
        repeat=args.repeat,
        setup=build,
    )
    report(
        "insert_instances",
        rate=(len(values), ours),
        baseline=("bulk_create", len(values), django_seconds),
        unit="rows",
    )


if __name__ == "__main__":
    main()
