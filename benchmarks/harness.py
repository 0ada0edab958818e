"""A tiny harness shared by every benchmark (``benchmarks/bench_*.py``).

Benchmarks are scripts that print, not timed tests. Each figure is shown as a
ratio against a baseline measured in the same run on the same machine, so
the numbers mean something on a busy laptop and on CI alike::

    from benchmarks.harness import best_of, report, setup_django

    def main() -> None:
        setup_django()                      # throwaway SQLite DB, migrated
        ours = best_of(lambda: do_work(), repeat=3)
        base = best_of(lambda: do_raw_work(), repeat=3)
        report("seeding", rate=(rows, ours), baseline=("raw executemany", rows, base))

* ``setup_django(database_url=None)``: points ``DATABASE_URL`` at a new SQLite
  file in a temporary directory (unless a URL is given), runs with
  ``DEBUG=False`` (no query logging) and plain static storage (pages render
  without collectstatic), calls ``django.setup()`` and migrates quietly.
  Call it before importing models. Returns the database URL.
* ``best_of(fn, repeat=3, setup=None)``: the best wall time of ``repeat`` calls
  in seconds (``setup()`` runs untimed before each call).
* ``report(name, ...)``: prints one line with the figure, the baseline and
  their ratio. ``rate=(count, seconds)`` prints a throughput (higher is
  better), ``seconds=...`` a duration (lower is better); the ratio is always
  "ours / baseline" for throughputs and "baseline / ours" for durations, so
  1.0x means as fast as the baseline and smaller means slower.
* ``section(title)`` prints a heading; ``line(text)`` a plain figure.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any

_state: dict[str, Any] = {}


def setup_django(database_url: str | None = None) -> str:
    """Configure and set up Django on a throwaway database (idempotent)."""
    if "url" in _state:
        return _state["url"]
    if database_url is None:
        directory = tempfile.mkdtemp(prefix="pilotcrm-bench-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        database_url = f"sqlite:///{directory}/bench.sqlite3"
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crmcore.settings")
    os.environ["DEBUG"] = "False"
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-" + "x" * 40)
    os.environ["SECURE_SSL_REDIRECT"] = "False"
    os.environ["SESSION_COOKIE_SECURE"] = "False"
    os.environ["CSRF_COOKIE_SECURE"] = "False"

    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings

    # Pages render without collectstatic: plain static storage, no manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("migrate", verbosity=0, interactive=False)
    _state["url"] = database_url
    return database_url


def best_of(
    fn: Callable[[], Any], repeat: int = 3, setup: Callable[[], Any] | None = None
) -> float:
    """The shortest wall time of ``repeat`` calls of ``fn``, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _fmt_rate(count: float, seconds: float, unit: str = "") -> str:
    per = f" {unit}/s" if unit else "/s"
    return f"{count / seconds:,.0f}{per}" if seconds > 0 else f"inf{per}"


def _fmt_ratio(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.4f}x (1/{1 / ratio:,.0f})"


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def report(
    name: str,
    *,
    rate: tuple[float, float] | None = None,
    seconds: float | None = None,
    baseline: tuple[str, float, float] | tuple[str, float],
    unit: str = "",
) -> float:
    """Print ``name``'s figure against ``baseline`` and return the ratio.

    With ``rate=(count, seconds)`` the baseline is ``(label, count, seconds)``;
    with ``seconds=...`` it is ``(label, seconds)``.
    """
    if rate is not None:
        label, base_count, base_seconds = baseline  # type: ignore[misc]
        ours = rate[0] / rate[1]
        theirs = base_count / base_seconds
        ratio = ours / theirs
        text = (
            f"{name}: {_fmt_rate(*rate, unit)} vs {label} "
            f"{_fmt_rate(base_count, base_seconds, unit)} -> {_fmt_ratio(ratio)}"
        )
    elif seconds is not None:
        label, base_seconds = baseline  # type: ignore[misc]
        ratio = base_seconds / seconds
        text = (
            f"{name}: {_fmt_seconds(seconds)} vs {label} {_fmt_seconds(base_seconds)} "
            f"-> {_fmt_ratio(ratio)}"
        )
    else:
        raise ValueError("report() needs rate= or seconds=")
    line(text)
    return ratio


def section(title: str) -> None:
    line(f"\n== {title} ==")


def line(text: str) -> None:
    print(text, flush=True)
