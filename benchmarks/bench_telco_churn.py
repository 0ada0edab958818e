"""Churn AUC on a telco-shaped customer export: the project against a plain logistic regression.

    .venv/bin/python -m benchmarks.bench_telco_churn [--customers 5000] [--seeds 0 1 2]

For each seed, generates the table (``training_sandbox.generator.telco``),
imports it through the project's importer with its mapping, trains the
project's sign-constrained churn model, and scores scikit-learn's
``LogisticRegression`` (unconstrained, one-hot categories, standardised) on
the same table and the same held-out customers, in the same run. Prints both
held-out AUCs (and the project's features without their constraints).
"""

from __future__ import annotations

import argparse

from benchmarks.harness import line, section, setup_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()

    setup_django()
    from crmcore.models import Workspace
    from training_sandbox.generator.telco import telco_compare

    section(f"Churn AUC on a telco-shaped export of {args.customers:,} customers")
    for seed in args.seeds:
        workspace = Workspace.objects.create(name=f"Telco {seed}")
        result = telco_compare(workspace=workspace, customers=args.customers, seed=seed)
        line(
            f"seed {seed}: project {result.auc:.4f} vs plain logistic regression "
            f"{result.auc_plain:.4f} (the project's features unconstrained: "
            f"{result.auc_unconstrained:.4f}; {result.n_train:,} train, "
            f"{result.n_test:,} held out, {result.rejected} rows rejected)"
        )


if __name__ == "__main__":
    main()
