"""Run the benchmarks: ``python -m benchmarks [name ...]`` (``make bench``).

Without names, every ``benchmarks/bench_*.py`` runs, in name order; with
names, only those (``python -m benchmarks seeding contact_detail``). Each
runs in its own interpreter, on its own throwaway database, with its default
arguments; run one module directly to pass it arguments
(``python -m benchmarks.bench_seeding --contacts 20000``).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(path.stem.removeprefix("bench_") for path in HERE.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    names = available()
    wanted = [name.removeprefix("bench_").removesuffix(".py") for name in argv] or names
    unknown = [name for name in wanted if name not in names]
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}. Available: {', '.join(names)}")
        return 2
    failed = []
    for name in wanted:
        print(f"\n##### {name}", flush=True)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", f"benchmarks.bench_{name}"], cwd=HERE.parent, check=False
        )
        print(f"##### {name}: {time.perf_counter() - started:.1f} s", flush=True)
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
