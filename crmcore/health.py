"""Health and readiness probes, and the metrics endpoint.

* ``/healthz``: the process answers (no dependency checked): for restarts.
* ``/readyz``: the database, the cache and the broker answer and every
  migration is applied; 503 with the failing checks otherwise: for routing.
* ``/metrics``: Prometheus metrics (``crmcore.observability``); when
  ``METRICS_TOKEN`` is set, only for ``Authorization: Bearer <token>``.

None of them needs a login or a session; they are exempt from the HTTPS
redirect so a probe on the private port gets an answer.
"""

from __future__ import annotations

import hmac
import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from crmcore import observability

logger = logging.getLogger(__name__)

#: Seconds a broker check may take before it counts as down.
BROKER_TIMEOUT = 2.0

_migrations_applied = False


def check_database() -> str:
    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    if not connection.is_usable():
        return "not usable"
    return ""


def check_cache() -> str:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    found = cache.get(key)
    cache.delete(key)
    return "" if found == "1" else "a value written was not read back"


def check_broker() -> str:
    url = getattr(settings, "CELERY_BROKER_URL", "")
    if not url:
        return ""  # tasks run in-process: no broker to reach
    with Connection(url, connect_timeout=BROKER_TIMEOUT) as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
    return ""


def check_migrations() -> str:
    global _migrations_applied
    if _migrations_applied:
        return ""
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return f"{len(plan)} migration(s) not applied"
    _migrations_applied = True  # applied migrations stay applied while we run
    return ""


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "migrations": check_migrations,
}


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    results = {}
    for name, check in CHECKS.items():
        try:
            problem = check()
        except Exception as exc:  # any failure of a dependency means "not ready"
            logger.warning("readiness check %s failed: %s", name, exc)
            problem = f"{type(exc).__name__}: {exc}"[:200]
        results[name] = problem or "ok"
    ready = all(value == "ok" for value in results.values())
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": results},
        status=200 if ready else 503,
    )


@never_cache
@require_GET
def metrics(request):
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
    body, content_type = observability.metrics_text()
    return HttpResponse(body, content_type=content_type)
