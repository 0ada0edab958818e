"""Order-lines import throughput against a raw ``executemany`` of the same lines.

    .venv/bin/python -m benchmarks.bench_import_lines [--rows 50000] [--chunk-size 1000]

Writes a retail-shaped file (orders of 1 to 40 lines, a few thousand
customers and products, about 2% returns as ``C`` orders), imports it into a
new workspace whose customers exist, then prints the order lines imported
per second (orders grouped, products matched or created, totals computed)
beside a raw ``executemany`` INSERT of the same, already parsed lines into
the order-line table; then the same file again (every line unchanged); then
the process's peak resident memory over both imports and, with
``--tracemalloc``, the peak Python memory of a third import.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from benchmarks.harness import line, report, section, setup_django

MAPPING = {
    "columns": {
        "InvoiceNo": "order_id",
        "InvoiceDate": "ordered_at",
        "CustomerID": "contact_external_id",
        "StockCode": "product_code",
        "Description": "description",
        "Quantity": "quantity",
        "UnitPrice": "unit_price",
    },
}
HEADER = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
]


def write_csv(path: Path, rows: int, customers: int, products: int) -> None:
    rng = random.Random(11)
    prices = [round(rng.uniform(0.3, 30), 2) for _ in range(products)]
    written, invoice = 0, 536_000
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        while written < rows:
            invoice += 1
            customer = rng.randrange(customers)
            is_return = rng.random() < 0.02
            order_id = f"C{invoice}" if is_return else str(invoice)
            day = rng.randint(1, 28)
            size = min(rows - written, 1 if is_return else rng.randint(1, 40))
            for _ in range(size):
                product = rng.randrange(products)
                quantity = rng.choice((1, 2, 3, 6, 12, 24))
                writer.writerow(
                    [
                        order_id,
                        f"P{product:05d}",
                        f"PRODUCT NUMBER {product}",
                        -quantity if is_return else quantity,
                        f"{day:02d}/03/2011 10:{rng.randint(10, 59)}",
                        f"{prices[product]:.2f}",
                        str(12_000 + customer),
                    ]
                )
            written += size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--customers", type=int, default=4_000)
    parser.add_argument("--products", type=int, default=3_500)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--tracemalloc", action="store_true", help="Also trace an import's Python memory (slow)"
    )
    args = parser.parse_args()

    setup_django(args.database_url)
    from django.db import connection, transaction

    from crmcore.integrations import importer, services
    from crmcore.models import Contact, Order, OrderLine, Product, Workspace

    path = Path(tempfile.mkdtemp(prefix="pilotcrm-bench-lines-")) / "lines.csv"
    write_csv(path, args.rows, args.customers, args.products)
    source = services.byte_source_for_path(path)
    line(f"file: {path.stat().st_size / 1_048_576:,.1f} MiB, {args.rows:,} lines")

    def new_workspace() -> Workspace:
        workspace = Workspace.objects.create(name="Benchmark")
        Contact.objects.bulk_create(
            Contact(workspace=workspace, first_name=f"C{i}", external_id=str(12_000 + i))
            for i in range(args.customers)
        )
        return workspace

    def run_import(workspace: Workspace) -> tuple[importer.ImportResult, float]:
        started = time.perf_counter()
        result = importer.run_import(
            workspace=workspace,
            kind="order_lines",
            source=source,
            mapping=MAPPING,
            chunk_size=args.chunk_size,
        )
        return result, time.perf_counter() - started

    section(f"Order-lines import of {args.rows:,} lines (chunks of {args.chunk_size:,})")
    workspace = new_workspace()
    first, first_seconds = run_import(workspace)
    line(f"first import's counts: {first.counts.as_dict()}")
    again, again_seconds = run_import(workspace)
    line(f"second import's counts: {again.counts.as_dict()}")
    # Before the baseline, which holds every parsed line in memory.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The baseline: the same lines, parsed beforehand (order and product ids
    # looked up in dicts), inserted with one executemany in one transaction.
    orders = dict(Order.objects.filter(workspace=workspace).values_list("external_id", "pk"))
    products = dict(Product.objects.filter(workspace=workspace).values_list("sku", "pk"))
    baseline_workspace = Workspace.objects.create(name="Benchmark baseline")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        parsed = [
            (order_id, sku, abs(int(quantity)), price)
            for order_id, sku, _, quantity, _, price, _ in reader
        ]
    table = connection.ops.quote_name(OrderLine._meta.db_table)
    sql = (
        f"INSERT INTO {table} (workspace_id, order_id, product_id, quantity, unit_price) "
        "VALUES (%s, %s, %s, %s, %s)"
    )
    started = time.perf_counter()
    params = [
        (baseline_workspace.pk, orders[order_id], products[sku], quantity, price)
        for order_id, sku, quantity, price in parsed
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, params)
    raw_seconds = time.perf_counter() - started
    del params, parsed

    report(
        "first import (lines created)",
        rate=(args.rows, first_seconds),
        baseline=("raw executemany", args.rows, raw_seconds),
        unit="rows",
    )
    report(
        "same file again (unchanged)",
        rate=(args.rows, again_seconds),
        baseline=("raw executemany", args.rows, raw_seconds),
        unit="rows",
    )

    line(f"peak resident memory of the process over both imports: {rss:,.0f} MiB")
    if args.tracemalloc:
        workspace = new_workspace()
        tracemalloc.start()
        run_import(workspace)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        line(f"peak Python memory of an import: {peak / 1_048_576:,.1f} MiB")


if __name__ == "__main__":
    main()
