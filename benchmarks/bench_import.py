"""CSV import throughput against a raw ``executemany`` of the same rows.

    .venv/bin/python -m benchmarks.bench_import [--rows 20000] [--chunk-size 1000]

Prints imported rows per second for a first import (every row created) and a
second import of the same file (every row unchanged), each as a ratio to a
raw ``executemany`` INSERT of the same, already parsed rows; then the peak
Python memory of an import, measured in a separate run.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
import tracemalloc
from pathlib import Path

from benchmarks.harness import best_of, line, report, section, setup_django

MAPPING = {
    "columns": {
        "Id": "external_id",
        "First": "first_name",
        "Last": "last_name",
        "Email": "email",
        "Phone": "phone",
        "Stage": "lifecycle_stage",
        "Signed up": "attributes.signup_date",
        "Region": "region",
    },
    "values": {"lifecycle_stage": {"Client": "customer", "Prospect": "lead"}},
    "types": {"attributes.signup_date": "date"},
    "unmapped": "attributes",
}
DATE_FORMATS = ("{y}-{m:02d}-{d:02d}", "{d:02d}/{m:02d}/{y}", "{d} Mar {y}")


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["Id", "First", "Last", "Email", "Phone", "Stage", "Signed up", "Region", "Plan"]
        )
        for i in range(rows):
            date = rng.choice(DATE_FORMATS).format(
                y=2024, m=rng.randint(1, 12), d=rng.randint(1, 28)
            )
            writer.writerow(
                [
                    f"C-{i}",
                    f" First{i} ",
                    f"Last{i}",
                    f"Person.{i}@Example.com",
                    f"+44 20 7946 {i % 1000:04d}",
                    rng.choice(["Client", "Prospect"]),
                    date,
                    rng.choice(["EMEA", "AMER", "APAC"]),
                    rng.choice(["Basic", "Pro"]),
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    setup_django()
    from django.db import connection, transaction
    from django.utils import timezone

    from crmcore.integrations import importer, services
    from crmcore.models import Contact, Workspace

    # Each timed run imports into a new, empty workspace (nothing is deleted).
    workspace = Workspace.objects.create(name="Benchmark")
    path = Path(tempfile.mkdtemp(prefix="pilotcrm-bench-import-")) / "contacts.csv"
    write_csv(path, args.rows)
    source = services.byte_source_for_path(path)

    def run_import() -> importer.ImportResult:
        return importer.run_import(
            workspace=workspace,
            kind="contacts",
            source=source,
            mapping=MAPPING,
            chunk_size=args.chunk_size,
        )

    def clear() -> None:
        nonlocal workspace
        workspace = Workspace.objects.create(name="Benchmark")

    # The baseline: the same rows, parsed beforehand, inserted with one executemany.
    def params_for(workspace_id: int) -> list[tuple]:
        return [(workspace_id, *row) for row in rows]

    now = timezone.now()
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = [
            (
                first.strip(),
                last,
                email.lower(),
                phone,
                stage.lower(),
                region,
                "",
                external_id,
                json.dumps({"signup_date": signed, "Plan": plan}),
                False,
                False,
                now,
                now,
            )
            for external_id, first, last, email, phone, stage, signed, region, plan in reader
        ]
    table = Contact._meta.db_table
    insert = (
        f"INSERT INTO {table} (workspace_id, first_name, last_name, email, phone, "
        "lifecycle_stage, region, segment, external_id, attributes, marketing_opt_out, "
        "do_not_profile, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )

    def raw_insert() -> None:
        params = params_for(workspace.pk)  # building the tuples is part of the baseline
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(insert, params)

    section(f"CSV import of {args.rows:,} contacts (chunks of {args.chunk_size:,})")
    raw = best_of(raw_insert, repeat=args.repeat, setup=clear)
    first = best_of(run_import, repeat=args.repeat, setup=clear)
    again = best_of(run_import, repeat=args.repeat)
    counts = run_import().counts
    report(
        "first import (created)",
        rate=(args.rows, first),
        baseline=("raw executemany", args.rows, raw),
        unit="rows",
    )
    report(
        "same file again (unchanged)",
        rate=(args.rows, again),
        baseline=("raw executemany", args.rows, raw),
        unit="rows",
    )
    line(f"last run's counts: {counts.as_dict()}")

    clear()
    tracemalloc.start()
    run_import()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    line(f"peak Python memory of an import: {peak / 1_048_576:,.1f} MiB for {args.rows:,} rows")


if __name__ == "__main__":
    main()
