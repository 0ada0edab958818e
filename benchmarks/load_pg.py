"""Load benchmark of the production set-up on PostgreSQL (not part of ``make bench``).

Two steps, each against a database of its own (the name is the last part of
``--database-url``; the server must let the user create databases)::

    python -m benchmarks.load_pg prepare --contacts 10000 \\
        --database-url postgres://postgres@127.0.0.1:5432/pilotcrm_load_10k
    python -m benchmarks.load_pg run --port 8871 --redis-url redis://127.0.0.1:6379/8 \\
        --database-url postgres://postgres@127.0.0.1:5432/pilotcrm_load_10k

``prepare`` creates the database (``--fresh`` drops it first), migrates,
creates the demo users, seeds ``--contacts`` contacts with ``seed_demo`` and
then times ``train_models`` twice: right after seeding (the planner works from
the statistics the seeder left) and after a manual ``ANALYZE`` of the whole
database. The demo pilot (every capability for EMEA Sales) is on from the
start, and ``setup_demo`` runs the demo jobs (sentiment, training, scoring)
at the end so that the contact page shows every AI panel.

``run`` starts gunicorn (``gunicorn.conf.py``, ``DEBUG=False``, the Redis
cache, persistent connections, ``PERF_RAW_VIEW=True`` for the baseline
``/perf/raw/<id>/``) on 127.0.0.1, logs a pilot user in, and sends requests
from ``--clients`` threads for ``--seconds`` per page: req/s, p50 and p95 of
each page, and its req/s as a ratio of the raw view's. ``--json FILE`` keeps
the figures. The client is the standard library's (threads, one kept-alive
connection each) and talks to 127.0.0.1 only; ``compare A.json B.json``
prints the p50 ratio between two runs (e.g. 100k against 10k contacts).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PILOT_USER = "alice"  # in EMEA Sales: every capability in pilot for her team


def _django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crmcore.settings")
    os.environ["DEBUG"] = "False"
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-" + "x" * 40)
    import django

    django.setup()


def _admin_url(database_url: str) -> tuple[str, str]:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name or not parts.scheme.startswith("postgres"):
        raise SystemExit("--database-url must be a PostgreSQL URL naming its database")
    return urlunsplit(parts._replace(path="/postgres")), name


def _create_database(database_url: str, *, fresh: bool) -> None:
    import psycopg

    admin, name = _admin_url(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _timed(label: str, fn) -> float:
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:,.1f} s", flush=True)
    return seconds


def prepare(args: argparse.Namespace) -> None:
    _create_database(args.database_url, fresh=args.fresh)
    _django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    from crmcore.models import Contact
    from crmcore.workspaces import production_workspace
    from training_sandbox.generator import ensure_demo_teams, ensure_demo_users
    from training_sandbox.management.commands import setup_demo

    call_command("migrate", verbosity=0, interactive=False)
    workspace = production_workspace()
    if Contact.objects.in_workspace(workspace).exists():
        raise SystemExit("The database already has contacts: use --fresh to start again.")
    users = ensure_demo_users()
    # The demo's pilot first: training is a job the gate allows only when
    # prediction is on somewhere in the workspace.
    for path in setup_demo.fixture_files(ROOT / "fixtures"):
        call_command("loaddata", str(path), verbosity=0)
    ensure_demo_teams(workspace=workspace, users=users)
    setup_demo.Command()._start_demo_pilot(users["admin"], verbose=False)
    figures: dict[str, Any] = {"contacts": args.contacts}
    figures["seed_s"] = _timed(
        f"seed_demo --contacts {args.contacts}",
        lambda: call_command("seed_demo", contacts=args.contacts, seed=42, verbosity=0),
    )
    figures["train_after_seeding_s"] = _timed(
        "train_models right after seeding", lambda: call_command("train_models")
    )

    def analyze() -> None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    figures["analyze_s"] = _timed("ANALYZE (whole database)", analyze)
    figures["train_after_analyze_s"] = _timed(
        "train_models after ANALYZE", lambda: call_command("train_models")
    )
    # The rest of the demo (setup_demo keeps the data): passwords, sentiment, scoring.
    _timed(
        "setup_demo (users, sentiment, training, scoring)",
        lambda: call_command("setup_demo", verbosity=0, stdout=open(os.devnull, "w")),  # noqa: SIM115
    )
    print(json.dumps(figures), flush=True)


# run ---------------------------------------------------------------------------------


def _login(database_url: str) -> tuple[str, str, dict[str, int]]:
    """A session cookie and an API token of the pilot user, and ids the pages need."""
    _django(database_url)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from crmcore.models import Contact, Interaction
    from crmcore.workspaces import production_workspace

    user = get_user_model().objects.get(username=PILOT_USER)
    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value
    token, _ = Token.objects.get_or_create(user=user)
    workspace = production_workspace()
    # A contact with a long history: the raw view and the contact page read the same one.
    contact_id = (
        Interaction.objects.in_workspace(workspace)
        .filter(contact__owner=user)
        .values_list("contact_id", flat=True)
        .order_by("-occurred_at")
        .first()
    ) or Contact.objects.in_workspace(workspace).values_list("pk", flat=True).first()
    return session, token.key, {"contact": int(contact_id or 0)}


class _Client:
    """One kept-alive HTTP/1.1 connection to 127.0.0.1 (the standard library's http.client)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.headers = headers
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, url: str) -> tuple[int, bytes]:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            self.conn.request("GET", target, headers=self.headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            # The server closed a kept-alive connection: open another once.
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request("GET", target, headers=self.headers)
            response = self.conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.conn.close()


def _deep_cursor(base: str, port: int, headers: dict[str, str], pages: int) -> str:
    """The API contacts URL ``pages`` pages in, found by following ``next`` links."""
    url = f"{base}/api/v1/contacts/?page_size=50"
    client = _Client(port, headers)
    for _ in range(pages):
        nxt = json.loads(client.get(url)[1]).get("next")
        if not nxt:
            break
        url = nxt
    client.close()
    return url


def _hammer(
    url: str, port: int, headers: dict[str, str], *, clients: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        client = _Client(port, headers)
        client.get(url)  # warm the connection and the worker's caches
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _ = client.get(url)
            took = time.perf_counter() - started
            with lock:
                if status == 200:
                    latencies.append(took)
                else:
                    errors[0] += 1
        client.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    if not latencies:
        return {"rps": 0.0, "p50_ms": None, "p95_ms": None, "n": 0, "errors": errors[0]}
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))] * 1000,
        "n": len(latencies),
        "errors": errors[0],
    }


def _wait_ready(port: int, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if _Client(port, {}).get("/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("gunicorn did not answer /healthz")


def run(args: argparse.Namespace) -> None:
    session, token, ids = _login(args.database_url)
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DEBUG": "False",
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "ALLOWED_HOSTS": "127.0.0.1",
        "REDIS_URL": args.redis_url,
        "CONN_MAX_AGE": "600",
        "SECURE_SSL_REDIRECT": "False",
        "SESSION_COOKIE_SECURE": "False",
        "CSRF_COOKIE_SECURE": "False",
        "PERF_RAW_VIEW": "True",
        "HOST": "127.0.0.1",
        "PORT": str(args.port),
        "WEB_CONCURRENCY": str(args.workers),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "crmcore.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        _wait_ready(args.port)
        web = {"Cookie": f"sessionid={session}"}
        api = {"Authorization": f"Token {token}"}
        deep = _deep_cursor(base, args.port, api, args.deep_pages)
        pages = [
            ("raw view (baseline)", f"{base}/perf/raw/{ids['contact']}/", web),
            ("dashboard", f"{base}/", web),
            ("contact list", f"{base}/contacts/", web),
            ("contact search ?q=smith", f"{base}/contacts/?q=smith", web),
            ("contact page (all AI panels)", f"{base}/contacts/{ids['contact']}/", web),
            ("deal pipeline", f"{base}/deals/", web),
            ("API contacts, page 1", f"{base}/api/v1/contacts/", api),
            (f"API contacts, cursor {args.deep_pages} pages in", deep, api),
            ("API contacts ?search=smith", f"{base}/api/v1/contacts/?search=smith", api),
            ("API interactions, newest first", f"{base}/api/v1/interactions/", api),
        ]
        results: dict[str, Any] = {}
        for label, url, headers in pages:
            results[label] = _hammer(
                url, args.port, headers, clients=args.clients, seconds=args.seconds
            )
            figure = results[label]
            print(
                f"{label}: {figure['rps']:.1f} req/s, p50 {figure['p50_ms'] or 0:.1f} ms, "
                f"p95 {figure['p95_ms'] or 0:.1f} ms ({figure['n']} ok, {figure['errors']} errors)",
                flush=True,
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    raw = results["raw view (baseline)"]["rps"] or 1.0
    print(f"\n| page | req/s ({args.clients} client) | ratio to raw | p50 ms | p95 ms |")
    print("|---|---|---|---|---|")
    for label, figure in results.items():
        print(
            f"| {label} | {figure['rps']:.1f} | {figure['rps'] / raw:.2f} | "
            f"{figure['p50_ms'] or 0:.1f} | {figure['p95_ms'] or 0:.1f} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"clients": args.clients, "pages": results}))


def compare(args: argparse.Namespace) -> None:
    small = json.loads(Path(args.small).read_text())["pages"]
    large = json.loads(Path(args.large).read_text())["pages"]
    print("| page | p50 small → large | ratio |")
    print("|---|---|---|")
    for label, figure in small.items():
        other = next(
            (
                value
                for key, value in large.items()
                if key.split(",")[0] == label.split(",")[0]
                and key.split(" ")[-1] == label.split(" ")[-1]
            ),
            large.get(label),
        )
        if not other or not figure["p50_ms"] or not other["p50_ms"]:
            continue
        print(
            f"| {label} | {figure['p50_ms']:.1f} → {other['p50_ms']:.1f} ms | "
            f"{other['p50_ms'] / figure['p50_ms']:.2f} |"
        )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare", help="Create, seed and set up a database.")
    p.add_argument("--database-url", required=True)
    p.add_argument("--contacts", type=int, default=10_000)
    p.add_argument("--fresh", action="store_true", help="Drop the database first.")
    r = sub.add_parser("run", help="Serve with gunicorn and measure every page.")
    r.add_argument("--database-url", required=True)
    r.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    r.add_argument("--port", type=int, default=8871)
    r.add_argument("--workers", type=int, default=2)
    r.add_argument("--clients", type=int, default=1)
    r.add_argument("--seconds", type=float, default=10.0)
    r.add_argument("--deep-pages", type=int, default=200, help="How deep the cursor page is.")
    r.add_argument("--json", default="", help="Write the figures to this file.")
    c = sub.add_parser("compare", help="p50 ratio between two runs' JSON files.")
    c.add_argument("small")
    c.add_argument("large")
    args = parser.parse_args(argv)
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-" + secrets.token_hex(20))
    {"prepare": prepare, "run": run, "compare": compare}[args.step](args)


if __name__ == "__main__":
    main(sys.argv[1:])
