"""Sandbox create and reset, default size and at scale.

    .venv/bin/python -m benchmarks.bench_sandbox [--large 100000] [--skip-large]

Goals on this machine: a default sandbox created (and reset) in at most 3 s,
a 100,000-contact one in at most 60 s (its data; the AI is prepared after
commit, measured apart). Each figure is also shown against a baseline measured
in the same run: a raw ``executemany`` of the same contact rows (just the
contacts, no accounts, orders, interactions or deals), so the ratio says how
much the whole sandbox costs over writing its contacts alone.

"Create to ready" is the time from the trainee's click to a sandbox whose AI
works (tones analysed, churn model trained, customers scored), at the default
size (goal: 10 s) and at 10,000 contacts.
"""

from __future__ import annotations

import argparse
import time

from django.test import override_settings

from benchmarks.harness import best_of, line, report, section, setup_django

DEFAULT_GOAL_S = 3.0
LARGE_GOAL_S = 60.0
READY_GOAL_S = 10.0


def _contact_rows(workspace, target_workspace_id: int) -> tuple[list[str], list[tuple]]:
    from crmcore.models import Contact

    columns = [
        f.column
        for f in Contact._meta.concrete_fields
        if f.column not in ("id", "workspace_id", "account_id", "owner_id", "team_id")
    ]
    rows = []
    for values in (
        Contact.objects.in_workspace(workspace)
        .order_by("pk")
        .values_list(*[f.attname for f in Contact._meta.concrete_fields if f.column in columns])
    ):
        rows.append((target_workspace_id, *(_db_value(v) for v in values)))
    return ["workspace_id", *columns], rows


def _db_value(value):
    import json

    return json.dumps(value) if isinstance(value, dict) else value


def _raw_insert(columns: list[str], rows: list[tuple]) -> None:
    from django.db import connection, transaction

    sql = (
        f"INSERT INTO crmcore_contact ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _raw_clear(workspace_id: int) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM crmcore_contact WHERE workspace_id = %s", [workspace_id])


def bench(size: int, repeat: int, goal: float, label: str) -> None:
    from crmcore import factories
    from crmcore.models import Workspace
    from training_sandbox import selectors, services

    section(f"{label}: {size:,} contacts")
    user = factories.UserFactory(username=f"bench-{size}")

    def drop() -> None:
        sandbox = selectors.sandbox_for(user=user)
        if sandbox is not None:
            services.sandbox_delete(workspace=sandbox)

    with override_settings(TRAINING_SANDBOX_PREPARE_AI=False):
        create = best_of(
            lambda: services.sandbox_create(user=user, contacts=size, seed=42),
            repeat=repeat,
            setup=drop,
        )
        sandbox = selectors.sandbox_for(user=user)
        reset = best_of(lambda: services.sandbox_reset(workspace=sandbox), repeat=repeat)

    scratch = Workspace.objects.create(name=f"raw {size}")
    columns, rows = _contact_rows(sandbox, scratch.pk)
    raw = best_of(
        lambda: _raw_insert(columns, rows), repeat=repeat, setup=lambda: _raw_clear(scratch.pk)
    )
    _raw_clear(scratch.pk)
    start = time.perf_counter()
    services.sandbox_delete(workspace=sandbox)
    delete = time.perf_counter() - start

    report("create", seconds=create, baseline=("raw executemany of its contacts", raw))
    report("reset", seconds=reset, baseline=("raw executemany of its contacts", raw))
    line(f"delete: {delete:,.2f} s")
    for name, value in (("create", create), ("reset", reset)):
        verdict = "meets" if value <= goal else "MISSES"
        line(f"goal {name} <= {goal:.0f} s: {value:,.2f} s, {verdict} it")


def bench_ready(size: int, goal: float | None) -> None:
    """Click to a sandbox whose every capability works (no broker: the AI runs after commit)."""
    from ai_features.preparation import preparation_status
    from crmcore import factories
    from training_sandbox import services

    section(f"Create to ready: {size:,} contacts")
    user = factories.UserFactory(username=f"bench-ready-{size}")
    with override_settings(TRAINING_SANDBOX_PREPARE_AI=False):
        start = time.perf_counter()
        sandbox = services.sandbox_create(user=user, contacts=size, seed=42)
        data_only = time.perf_counter() - start
        services.sandbox_delete(workspace=sandbox)
    start = time.perf_counter()
    sandbox = services.sandbox_create(user=user, contacts=size, seed=42)
    ready = time.perf_counter() - start
    status = preparation_status(workspace=sandbox)
    services.sandbox_delete(workspace=sandbox)
    report("create to ready", seconds=ready, baseline=("create, data only", data_only))
    line(f"AI status after create: {status.message if status else 'never prepared'}")
    if goal is not None:
        verdict = "meets" if ready <= goal else "MISSES"
        line(f"goal create to ready <= {goal:.0f} s: {ready:,.2f} s, {verdict} it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--ready-large", type=int, default=10_000)
    args = parser.parse_args()
    setup_django()
    from training_sandbox.conf import app_settings

    default = app_settings.DEFAULT_CONTACTS
    bench(default, repeat=3, goal=DEFAULT_GOAL_S, label="Default sandbox")
    bench_ready(default, goal=READY_GOAL_S)
    if not args.skip_large:
        bench_ready(args.ready_large, goal=None)
        bench(args.large, repeat=1, goal=LARGE_GOAL_S, label="Large sandbox")


if __name__ == "__main__":
    main()
