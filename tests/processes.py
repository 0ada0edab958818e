"""Helpers of the tests that start, and kill, real worker and command processes.

Those tests need PostgreSQL (two processes on one database, row locks); the
worker ones also a Redis broker. Every wait is a polling loop with a bound.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection, transaction

ROOT = Path(__file__).resolve().parents[1]

# Generous bounds: a loaded two-core machine can take many seconds to start Django.
START_TIMEOUT = 180.0


def on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def database_url() -> str:
    """The URL of the database this test uses, for a child process."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_until(
    predicate: Callable[[], bool],
    what: str,
    *,
    timeout: float = START_TIMEOUT,
    process: Process | None = None,
) -> None:
    """Poll ``predicate`` every 0.2 s; fail naming ``what`` after ``timeout`` seconds,
    or at once if ``process`` has exited."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if process is not None and process.exited():
            pytest.fail(f"{what}: the process exited ({process.returncode})\n{process.output()}")
        if time.monotonic() > deadline:
            extra = f"\n{process.output()}" if process is not None else ""
            pytest.fail(f"{what}: not within {timeout:.0f} s{extra}")
        time.sleep(0.2)


class Process:
    """A child process with its output in a temporary file (no pipe to fill)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115  (lives with the process)
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def exited(self) -> bool:
        return self.popen.poll() is not None

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read()[-4000:]

    def kill(self) -> None:
        """SIGKILL, and reap it."""
        self.popen.kill()
        self.popen.wait(timeout=60)

    def stop(self) -> None:
        """SIGTERM (a warm shutdown), then SIGKILL if it lingers."""
        if self.exited():
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()


def celery_worker(
    *, name: str, queue: str, env: dict[str, str] | None = None, pool: str = "solo"
) -> Process:
    """A one-process worker of ``queue`` on this test's database (tests.worker_settings).

    ``solo`` runs tasks in the worker process itself; ``prefork`` in a child.
    """
    return Process(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crmcore",
            "worker",
            "-P",
            pool,
            "-c",
            "1",
            "-Q",
            queue,
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ],
        {
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
            **(env or {}),
        },
    )


def manage(*args: str) -> Process:
    """``manage.py <args>`` on this test's database (inherits DJANGO_SETTINGS_MODULE)."""
    return Process([sys.executable, "manage.py", *args], {"DATABASE_URL": database_url()})


class RowLock:
    """Holds FOR UPDATE locks on a queryset's rows, from another thread (its own
    connection), until released: a writer that reaches those rows waits there,
    mid-job, for as long as the test needs."""

    def __init__(self, queryset) -> None:
        self.queryset = queryset
        self.count = 0
        self._locked = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        try:
            with transaction.atomic():
                self.count = len(list(self.queryset.select_for_update()))
                self._locked.set()
                self._release.wait(timeout=600)
        finally:
            connection.close()

    def __enter__(self) -> RowLock:
        self._thread.start()
        if not self._locked.wait(timeout=60):
            pytest.fail("could not lock the rows")
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join(timeout=60)

    def __exit__(self, *exc) -> None:
        self.release()
