"""Health, readiness, metrics, request ids and JSON logs (crmcore.observability, crmcore.health)."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from django.core.cache import cache
from prometheus_client import REGISTRY

from crmcore import health, observability, tasks

pytestmark = pytest.mark.django_db


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_healthz__process_up__200_without_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz__everything_reachable__200_with_each_check(client, settings):
    settings.CELERY_BROKER_URL = ""

    response = client.get("/readyz")

    assert (response.status_code, response.json()) == (
        200,
        {
            "status": "ready",
            "checks": {"database": "ok", "cache": "ok", "broker": "ok", "migrations": "ok"},
        },
    )


def test_readyz__broker_unreachable__503_naming_it(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/readyz")

    body = response.json()
    assert (response.status_code, body["status"]) == (503, "not ready")
    assert body["checks"]["broker"].startswith("OperationalError")
    assert (body["checks"]["database"], body["checks"]["cache"]) == ("ok", "ok")


def test_readyz__cache_and_database_failing__503_naming_both(client, monkeypatch):
    def broken():
        raise ConnectionError("refused")

    monkeypatch.setitem(health.CHECKS, "cache", broken)
    monkeypatch.setitem(health.CHECKS, "database", lambda: "not usable")

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "not usable",
        "cache": "ConnectionError: refused",
        "broker": "ok",
        "migrations": "ok",
    }


def test_readyz__migration_not_applied__503(client, monkeypatch):
    class Plan:
        def __init__(self, connection):
            self.loader = type("Loader", (), {"graph": type("G", (), {"leaf_nodes": list})()})()

        def migration_plan(self, targets):
            return [("crmcore", "9999_pending")]

    monkeypatch.setattr(health, "_migrations_applied", False)
    monkeypatch.setattr(health, "MigrationExecutor", Plan)

    response = client.get("/readyz")

    assert (response.status_code, response.json()["checks"]["migrations"]) == (
        503,
        "1 migration(s) not applied",
    )


def test_metrics__after_a_request__latency_counted_for_its_view(client):
    labels = {"view": "healthz", "method": "GET", "status": "200"}
    before = _sample("pilotcrm_http_request_duration_seconds_count", labels)

    client.get("/healthz")
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert _sample("pilotcrm_http_request_duration_seconds_count", labels) == before + 1
    text = response.content.decode()
    assert (
        'pilotcrm_http_request_duration_seconds_count{method="GET",status="200",view="healthz"}'
        in (text)
    )


def test_metrics__token_set__401_without_it_200_with_it(client, settings):
    settings.METRICS_TOKEN = "s3cret"

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


@pytest.mark.parametrize(
    ("given", "kept"),
    [("abc-123.x:y_z", True), ("two words", False), ("x" * 101, False), ('a"}\n{', False)],
)
def test_request_id__incoming_header__kept_when_well_formed(client, given, kept):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=given)

    returned = response["X-Request-ID"]
    assert (returned == given) is kept
    if not kept:
        assert len(returned) == 32 and returned.isalnum()


def test_request_log__one_json_line_with_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger="pilotcrm.request")

    client.get("/healthz", HTTP_X_REQUEST_ID="req-42")

    [record] = [r for r in caplog.records if r.name == "pilotcrm.request"]
    entry = json.loads(observability.JsonFormatter().format(record))
    assert {k: entry[k] for k in ("level", "logger", "message", "request_id", "status")} == {
        "level": "INFO",
        "logger": "pilotcrm.request",
        "message": "GET /healthz 200",
        "request_id": "req-42",
        "status": 200,
    }
    assert (entry["view"], entry["path"], entry["method"]) == ("healthz", "/healthz", "GET")


def test_json_formatter__exception_and_request_id_from_context():
    token = observability.request_id.set("ctx-1")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            record = logging.getLogger("x").makeRecord(
                "x", logging.ERROR, __file__, 1, "failed %s", ("here",), exc_info=True
            )
            record.exc_info = sys.exc_info()
        line = observability.JsonFormatter().format(record)
    finally:
        observability.request_id.reset(token)

    entry = json.loads(line)
    assert (entry["message"], entry["request_id"], entry["level"]) == (
        "failed here",
        "ctx-1",
        "ERROR",
    )
    assert "ValueError: boom" in entry["exception"]
    assert "\n" not in line


def test_heartbeat_job__run__time_cached_and_counted_with_its_duration():
    beats = _sample("pilotcrm_heartbeats_total", {})
    runs = _sample(
        "pilotcrm_job_duration_seconds_count", {"job": "crmcore.heartbeat", "outcome": "ok"}
    )

    result = tasks.heartbeat.delay().get()

    assert cache.get(tasks.HEARTBEAT_KEY) == result
    assert _sample("pilotcrm_heartbeats_total", {}) == beats + 1
    assert (
        _sample(
            "pilotcrm_job_duration_seconds_count", {"job": "crmcore.heartbeat", "outcome": "ok"}
        )
        == runs + 1
    )


def test_beat_schedule__heartbeat__scheduled(settings):
    assert settings.CELERY_BEAT_SCHEDULE["crmcore-heartbeat"]["task"] == "crmcore.heartbeat"
    assert tasks.heartbeat.name == "crmcore.heartbeat"


def test_job_failure__counted_by_job():
    labels = {"job": "test.job", "outcome": "failed"}
    failures = _sample("pilotcrm_job_failures_total", {"job": "test.job"})
    seconds = _sample("pilotcrm_job_duration_seconds_sum", labels)

    observability.job_finished(job="test.job", seconds=0.5, ok=False)

    assert _sample("pilotcrm_job_failures_total", {"job": "test.job"}) == failures + 1
    assert _sample("pilotcrm_job_duration_seconds_sum", labels) == seconds + 0.5
