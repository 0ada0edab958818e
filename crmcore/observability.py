"""What an operator sees: Prometheus metrics, JSON log lines with a request id, health checks.

Metrics (``/metrics``, Prometheus text format):

* ``pilotcrm_http_request_duration_seconds{view,method,status}``: latency per view;
* ``pilotcrm_gate_decisions_total{capability,decision}``: every gate answer;
* ``pilotcrm_job_duration_seconds{job,outcome}`` and
  ``pilotcrm_job_failures_total{job}``: Celery tasks (jobs), by task name;
* ``pilotcrm_webhook_deliveries_total{outcome}``: succeeded, retrying, failed;
* ``pilotcrm_heartbeats_total``: beats of the ``crmcore.heartbeat`` periodic job.

Other apps count through the small hooks below (``gate_decision``,
``webhook_delivery``); crmcore imports none of them. With several processes
(gunicorn workers, Celery worker and beat on one machine),
``PROMETHEUS_MULTIPROC_DIR`` names a directory they all write their values
to, and ``/metrics`` adds them up; without it each process counts alone.

Logs: ``JsonFormatter`` writes one JSON object per line with the request id
that ``RequestIdMiddleware`` takes from ``X-Request-ID`` (when well formed) or
makes, and sends back in the response.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import re
import time
import uuid
from typing import Any

from celery.signals import task_postrun, task_prerun
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_LATENCY = Histogram(
    "pilotcrm_http_request_duration_seconds",
    "Time to answer an HTTP request, by view.",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
GATE_DECISIONS = Counter(
    "pilotcrm_gate_decisions_total",
    "Answers of the AI capability gate, by capability and decision (on/off).",
    ["capability", "decision"],
)
JOB_DURATION = Histogram(
    "pilotcrm_job_duration_seconds",
    "Run time of background jobs (Celery tasks), by job and outcome.",
    ["job", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0),
)
JOB_FAILURES = Counter(
    "pilotcrm_job_failures_total", "Background jobs that raised, by job.", ["job"]
)
WEBHOOK_DELIVERIES = Counter(
    "pilotcrm_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome (succeeded, retrying, failed).",
    ["outcome"],
)
HEARTBEATS = Counter("pilotcrm_heartbeats_total", "Beats of the crmcore.heartbeat job.")


# Hooks other parts of the project call ---------------------------------------


def gate_decision(*, capability: str, enabled: bool) -> None:
    GATE_DECISIONS.labels(capability=capability, decision="on" if enabled else "off").inc()


def webhook_delivery(*, outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()


def job_finished(*, job: str, seconds: float, ok: bool) -> None:
    JOB_DURATION.labels(job=job, outcome="ok" if ok else "failed").observe(seconds)
    if not ok:
        JOB_FAILURES.labels(job=job).inc()


def heartbeat() -> None:
    HEARTBEATS.inc()


def metrics_text() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format: of every process when multiprocess."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


# Celery: job durations and failures ------------------------------------------

_task_started: dict[str, float] = {}


def task_started(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _task_started[task_id] = time.monotonic()


def task_finished(task_id: str | None = None, task: Any = None, state: str = "", **kwargs):
    started = _task_started.pop(task_id or "", None)
    if started is None or task is None:
        return
    job_finished(job=task.name, seconds=time.monotonic() - started, ok=state != "FAILURE")


def connect_celery_signals() -> None:
    task_prerun.connect(task_started, weak=False, dispatch_uid="pilotcrm-job-started")
    task_postrun.connect(task_finished, weak=False, dispatch_uid="pilotcrm-job-finished")


# Request id and JSON logs ----------------------------------------------------

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
#: An incoming X-Request-ID is kept only if it looks like an id (no log injection).
REQUEST_ID_FORMAT = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (``record.request_id``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id.get()
        return True


#: LogRecord attributes that are not extra fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or request_id.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


request_log = logging.getLogger("pilotcrm.request")


class RequestIdMiddleware:
    """Request id in, latency measured and logged, request id out (``X-Request-ID``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if REQUEST_ID_FORMAT.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        request.request_id = rid
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        seconds = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None and match.view_name else "<unmatched>"
        REQUEST_LATENCY.labels(
            view=view, method=request.method, status=str(response.status_code)
        ).observe(seconds)
        request_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "request_id": rid,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "view": view,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
        response["X-Request-ID"] = rid
        return response
