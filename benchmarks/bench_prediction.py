"""Prediction benchmarks: batch scoring against a raw-SQL floor, training time, memory.

    .venv/bin/python -m benchmarks.bench_prediction [contacts] [memory sizes...]

Defaults: score 100,000 contacts; peak memory while scoring 100,000 and
300,000 contacts (traced allocations of the scoring run), to show that
chunking keeps it flat.

* Scoring end to end (features from aggregate queries, predict, explain, next
  products, bulk upsert of the scores) against the floor of the same work in
  raw SQL measured in the same run: one aggregate query for the same order and
  interaction features, the same linear model in numpy, and one
  ``executemany`` insert of the same columns. Goal: at least 0.5x.
* Training time (features, fit, held-out metrics, next-product model) against
  the raw aggregate query that reads its data.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import time
import tracemalloc

from benchmarks.harness import line, report, section, setup_django

SEED = 17


def seed(workspace, start: int, count: int, batch: int = 50_000) -> None:
    """Customers and churned contacts with orders, lines and tickets, written in bulk SQL
    (``batch`` contacts at a time, so that seeding a million stays small in memory)."""
    for offset in range(0, count, batch):
        _seed_batch(workspace, start + offset, min(batch, count - offset))


def _seed_batch(workspace, start: int, count: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from crmcore.models import Product

    rng = random.Random(SEED + start)
    now = timezone.now()
    products = list(Product.objects.in_workspace(workspace).values_list("pk", flat=True))
    if not products:
        Product.objects.bulk_create(
            [Product(workspace=workspace, sku=f"B-{i}", name=f"Product {i}") for i in range(8)]
        )
        products = list(Product.objects.in_workspace(workspace).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM crmcore_contact")
        first_id = cursor.fetchone()[0] + 1
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM crmcore_order")
        order_id = cursor.fetchone()[0] + 1
        contacts, orders, lines, tickets = [], [], [], []
        for k in range(count):
            cid = first_id + k
            churned = rng.random() < 0.3
            stage = "churned" if churned else "customer"
            contacts.append(
                (
                    cid,
                    workspace.pk,
                    f"C{cid}",
                    "",
                    "",
                    "",
                    stage,
                    rng.choice(["EMEA", "AMER"]),
                    rng.choice(["SMB", "Enterprise"]),
                    "",
                    json.dumps({"seats": rng.randint(1, 90)}),
                    False,
                    False,
                    now,
                    now,
                )
            )
            last = rng.randint(60, 400) if churned else rng.randint(1, 90)
            for n in range(3):
                when = now - dt.timedelta(days=last + 40 * n)
                orders.append((order_id, workspace.pk, cid, when, "paid", 100, "", now))
                lines.append((workspace.pk, order_id, products[(n + k) % len(products)], 1, 100))
                order_id += 1
            if churned or rng.random() < 0.2:
                when = now - dt.timedelta(days=rng.randint(1, 60))
                tickets.append((workspace.pk, cid, "ticket", "in", "", "", when, now, now))
        cursor.executemany(
            "INSERT INTO crmcore_contact (id, workspace_id, first_name, last_name, email, phone,"
            " lifecycle_stage, region, segment, external_id, attributes, marketing_opt_out,"
            " do_not_profile, created_at, updated_at)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            contacts,
        )
        cursor.executemany(
            "INSERT INTO crmcore_order (id, workspace_id, contact_id, ordered_at, status, total,"
            " external_id, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
            orders,
        )
        cursor.executemany(
            "INSERT INTO crmcore_orderline (workspace_id, order_id, product_id, quantity,"
            " unit_price) VALUES (%s,%s,%s,%s,%s)",
            lines,
        )
        cursor.executemany(
            "INSERT INTO crmcore_interaction (workspace_id, contact_id, channel, direction,"
            " subject, body, occurred_at, created_at, updated_at)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
            tickets,
        )


FLOOR_SQL = """
SELECT c.id,
       o.last_order, o.n, o.n90, o.spend, i.tickets30
FROM crmcore_contact c
LEFT JOIN (
    SELECT contact_id, MAX(ordered_at) AS last_order, COUNT(*) AS n,
           SUM(CASE WHEN ordered_at >= %s THEN 1 ELSE 0 END) AS n90, SUM(total) AS spend
    FROM crmcore_order WHERE workspace_id = %s AND ordered_at < %s AND status != 'cancelled'
    GROUP BY contact_id
) o ON o.contact_id = c.id
LEFT JOIN (
    SELECT contact_id, SUM(CASE WHEN channel = 'ticket' AND occurred_at >= %s THEN 1 ELSE 0 END)
           AS tickets30
    FROM crmcore_interaction WHERE workspace_id = %s AND occurred_at < %s GROUP BY contact_id
) i ON i.contact_id = c.id
WHERE c.workspace_id = %s AND c.lifecycle_stage = 'customer'
ORDER BY c.id
"""


def floor_score(workspace, version) -> int:
    """The same scoring in raw SQL: one aggregate query, numpy, one executemany insert."""
    import numpy as np
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor_score")
        cursor.execute(
            "CREATE TABLE bench_floor_score (workspace_id INTEGER, contact_id INTEGER,"
            " model_version_id INTEGER, probability REAL, log_odds REAL, band TEXT,"
            " factors TEXT, rest REAL, next_products TEXT, next_action TEXT, scored_at TEXT,"
            " UNIQUE (workspace_id, contact_id))"
        )
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            FLOOR_SQL,
            [
                now - dt.timedelta(days=90),
                workspace.pk,
                now,
                now - dt.timedelta(days=30),
                workspace.pk,
                now,
                workspace.pk,
            ],
        )
        rows = cursor.fetchall()
    ids = [r[0] for r in rows]
    x = np.zeros((len(rows), 5))
    for k, (_, last, n, n90, spend, tickets) in enumerate(rows):
        if isinstance(last, str):
            last = dt.datetime.fromisoformat(last)
        x[k] = (
            (now - last).days if last else 730,
            n or 0,
            n90 or 0,
            float(spend or 0),
            tickets or 0,
        )
    coef = np.array(version.coefficients[:5])
    contributions = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9) * coef
    log_odds = contributions.sum(axis=1) + version.intercept
    probability = 1 / (1 + np.exp(-log_odds))
    top = np.argsort(-np.abs(contributions), axis=1)[:, :6]
    stamp = now.isoformat()
    out = [
        (
            workspace.pk,
            cid,
            version.pk,
            float(probability[k]),
            float(log_odds[k]),
            "high" if probability[k] >= 0.6 else "low",
            json.dumps([[int(j), float(contributions[k, j]), float(x[k, j])] for j in top[k]]),
            0.0,
            "[]",
            '{"kind": "check_in", "text": "Check in"}',
            stamp,
        )
        for k, cid in enumerate(ids)
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_floor_score VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
            " ON CONFLICT (workspace_id, contact_id)"
            " DO UPDATE SET probability = excluded.probability",
            out,
        )
    return time.perf_counter() - start, len(out)


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    memory_sizes = [int(a) for a in sys.argv[2:]] or [100_000, 300_000]
    setup_django()
    from django.db import connection

    from ai_features.capabilities.prediction import services
    from crmcore.models import Contact
    from crmcore.workspaces import production_workspace

    workspace = production_workspace()
    section(f"Seeding {size:,} contacts (setup, not measured)")
    t = time.perf_counter()
    seed(workspace, 0, size)
    line(f"seeded in {time.perf_counter() - t:.1f} s")

    section("Training")
    t = time.perf_counter()
    version = services.model_version_train(workspace=workspace)
    train_seconds = time.perf_counter() - t
    with connection.cursor() as cursor:
        t = time.perf_counter()
        cursor.execute(
            FLOOR_SQL.replace("c.lifecycle_stage = 'customer'", "1 = 1"),
            [
                dt.datetime(2000, 1, 1),
                workspace.pk,
                dt.datetime(2100, 1, 1),
                dt.datetime(2000, 1, 1),
                workspace.pk,
                dt.datetime(2100, 1, 1),
                workspace.pk,
            ],
        )
        cursor.fetchall()
        read_seconds = time.perf_counter() - t
    line(f"AUC {version.metrics.get('auc')}, {version.metrics.get('n_train')} training contacts")
    report(
        "training (features, fit, metrics, next products)",
        seconds=train_seconds,
        baseline=("reading its data in one raw query", read_seconds),
    )

    section(f"Scoring {Contact.objects.filter(lifecycle_stage='customer').count():,} customers")
    services.artifact_load(version)  # loaded once per process, as in a worker
    t = time.perf_counter()
    result = services.contacts_score(workspace=workspace)
    line(f"first scoring run (no previous scores): {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    result = services.contacts_score(workspace=workspace)
    ours = time.perf_counter() - t
    floor_seconds, floor_rows = floor_score(workspace, version)
    report(
        "score_contacts end to end",
        rate=(result.scored, ours),
        baseline=("raw SQL floor", floor_rows, floor_seconds),
        unit="contacts",
    )

    section("Peak traced memory while scoring (chunked)")
    seeded = size
    for target in memory_sizes:
        if target > seeded:
            seed(workspace, seeded, target - seeded)
            seeded = target
        customers = Contact.objects.filter(lifecycle_stage="customer").count()
        tracemalloc.start()
        services.contacts_score(workspace=workspace)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        line(f"{target:,} contacts ({customers:,} customers): peak {peak / 2**20:,.1f} MiB")


if __name__ == "__main__":
    main()
