"""Next-need quality: hit@3 against two baselines, on demo data and a retail-shaped log.

    .venv/bin/python -m benchmarks.bench_next_needs [demo contacts] [retail customers] [products]

Defaults: a generated demo workspace of 3,000 contacts (seed 42), and a
retail-shaped transaction log (``training_sandbox.generator.retail``) of
10,000 customers and 3,000 products (seed 1, about 400,000 order lines).

For each, every customer with two orders or more is split at random into
training and held-out customers; each held-out customer's last order is
hidden and predicted on its day. A hit: one of the three products is in it.
Baselines, measured in the same run on the same cases: the most popular
products not yet bought by the customer, and the customer's own most
frequently bought products.
"""

from __future__ import annotations

import sys
import time

from benchmarks.harness import line, section, setup_django


def _print(metrics: dict, seconds: float) -> None:
    hit = metrics["next_need_hit_at_3"]
    line(
        f"held-out last orders: {metrics['next_need_cases']:,} (fit and evaluation {seconds:.1f} s)"
    )
    line(f"next needs:                       hit@3 {hit:.3f}")
    for key, label in (
        ("popular_hit_at_3", "most popular not yet bought"),
        ("frequent_hit_at_3", "own most frequent products"),
    ):
        base = metrics[key]
        ratio = f"{hit / base:.2f}x" if base else "n/a"
        line(f"{label + ':':<33} hit@3 {base:.3f}  (next needs: {ratio})")
    kinds = ", ".join(f"{k} {n:,}" for k, n in metrics["next_need_hits_by_kind"].items())
    line(f"hits by reason: {kinds}")


def main(argv: list[str]) -> None:
    contacts = int(argv[0]) if argv else 3000
    customers = int(argv[1]) if len(argv) > 1 else 10_000
    products = int(argv[2]) if len(argv) > 2 else 3000
    setup_django()
    from ai_features.capabilities.prediction.next_needs import (
        baskets_from_lines,
        next_need_metrics,
        next_needs_train,
    )
    from crmcore.models import Workspace
    from training_sandbox.generator import generate_workspace_data
    from training_sandbox.generator.retail import retail_log

    section(f"next needs: demo data ({contacts:,} contacts, seed 42)")
    workspace = Workspace.objects.create(name="Bench")
    generate_workspace_data(workspace=workspace, contacts=contacts, seed=42)
    start = time.perf_counter()
    _, metrics = next_needs_train(workspace=workspace)
    _print(metrics, time.perf_counter() - start)

    section(f"next needs: retail-shaped log ({customers:,} customers, {products:,} products)")
    log = retail_log(customers=customers, products=products, seed=1)
    traits = log.summary()
    line(
        f"{traits['lines']:,} order lines; {traits['one_off_share']:.0%} of customers order "
        f"once; {traits['repeat_revenue_share']:.0%} of revenue from repeat purchases; "
        f"{traits['return_lines']:,} returned lines, {traits['cancelled_lines']:,} lines "
        "of cancelled orders"
    )
    start = time.perf_counter()
    metrics = next_need_metrics(baskets_from_lines(log.lines), log.names)
    _print(metrics, time.perf_counter() - start)


if __name__ == "__main__":
    main(sys.argv[1:])
