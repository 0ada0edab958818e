"""Per-request work on the contact page with every AI panel: gate reads once, one metric batch."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from waffle.testutils import override_switch

from ai_features import per_request
from ai_features.gate import KILL_SWITCH
from ai_features.models import JobRun, SuggestionEvent

pytestmark = pytest.mark.django_db

CACHE_METHODS = (
    "get",
    "get_many",
    "set",
    "set_many",
    "add",
    "delete",
    "delete_many",
    "has_key",
    "incr",
    "touch",
)


@pytest.fixture
def round_trips(monkeypatch):
    """Calls to the cache backend (one round trip each with Redis), nested calls not counted."""
    calls: list[str] = []
    depth = [0]
    backend = type(caches["default"])

    def counting(name, method):
        def wrapper(self, *args, **kwargs):
            if depth[0] == 0:
                calls.append(name)
            depth[0] += 1
            try:
                return method(self, *args, **kwargs)
            finally:
                depth[0] -= 1

        return wrapper

    for name in CACHE_METHODS:
        monkeypatch.setattr(backend, name, counting(name, getattr(backend, name)))
    return calls


def _contact_page(client, contact) -> str:
    response = client.get(reverse("contact-detail", args=[contact.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _panels(html: str) -> list[str]:
    return [
        key
        for key in ("sentiment", "prediction", "personalization")
        if f'data-panel="{key}"' in html
    ]


def test_contact_page__every_panel__gate_reads_the_cache_once_per_flag_not_per_check(
    logged_in_client, all_on, customers, round_trips, monkeypatch
):
    ada, _ = customers
    _contact_page(logged_in_client, ada)  # warm every cache

    round_trips.clear()
    with monkeypatch.context() as unscoped:
        unscoped.setattr(per_request, "current", lambda: None)  # as before: no request scope
        html = _contact_page(logged_in_client, ada)
    before = len(round_trips)
    round_trips.clear()
    html_now = _contact_page(logged_in_client, ada)
    after = len(round_trips)

    assert _panels(html) == _panels(html_now) == ["sentiment", "prediction", "personalization"]
    # Without the scope each gate check reads the switch and the flag again;
    # with it, the switch once and each capability's flag once.
    assert before >= after + 6, (before, after)
    # 30 before on this page: the kill switch once, then each capability's flag once
    # and whether the user's first exposure to it is already recorded (once each),
    # and the composed suggested reply.
    assert sorted(round_trips) == ["get"] * 5 + ["get_many"] * 3, " ".join(round_trips)


def test_contact_page__shown_metrics__one_batch_one_insert_after_the_response(
    logged_in_client, all_on, customers, user, django_capture_on_commit_callbacks
):
    ada, _ = customers
    with django_capture_on_commit_callbacks(execute=True):
        _contact_page(logged_in_client, ada)  # the user's first exposures are recorded
    SuggestionEvent.objects.filter(action="shown", user=user).delete()
    runs_before = JobRun.objects.filter(name="record_suggestion_events").count()

    with (
        CaptureQueriesContext(connection) as captured,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        _contact_page(logged_in_client, ada)

    shown = SuggestionEvent.objects.filter(action="shown", user=user)
    assert sorted(shown.values_list("capability", flat=True)) == [
        "personalization",
        "prediction",
        "sentiment",
    ]
    inserts = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith('INSERT INTO "ai_features_suggestionevent"')
    ]
    assert len(inserts) == 1
    assert len(callbacks) == 1
    assert JobRun.objects.filter(name="record_suggestion_events").count() == runs_before + 1


def test_contact_page__kill_switch_turned_on_in_the_request__later_checks_see_it(
    rf, user, workspace, all_on
):
    from ai_features import gate

    per_request.open_scope()
    try:
        assert gate.is_enabled("sentiment", user, workspace)
        with override_switch(KILL_SWITCH, active=True):
            assert not gate.is_enabled("sentiment", user, workspace)
    finally:
        per_request.close_scope()


def test_outside_a_request__no_scope__metrics_queued_one_call_at_a_time(
    workspace, user, django_capture_on_commit_callbacks
):
    from ai_features.metrics import metric_record

    assert per_request.current() is None
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        metric_record(capability="sentiment", action="shown", user=user, workspace=workspace)
        metric_record(capability="prediction", action="shown", user=user, workspace=workspace)

    assert len(callbacks) == 2
    assert SuggestionEvent.objects.filter(action="shown").count() == 2


def test_reply_panel__second_view__composed_once_then_read_from_the_cache(
    logged_in_client, all_on, customers, settings
):
    from tests.ai_features.personalization.helpers import inbound

    ada, _ = customers

    def view() -> tuple[str, int]:
        with CaptureQueriesContext(connection) as captured:
            html = _contact_page(logged_in_client, ada)
        return html, len(captured.captured_queries)

    first, _ = view()  # every cache warm, the reply composed and kept
    second, warm = view()
    settings.AI_PERSONALIZATION_REPLY_CACHE_SECONDS = 0
    _, uncached = view()
    _, again = view()
    settings.AI_PERSONALIZATION_REPLY_CACHE_SECONDS = 60

    # The reply's facts: the contact, last products, last and inbound interactions, tones, outlook.
    assert uncached == again == warm + 6
    reply = "I&#x27;m sorry about the trouble (“Export broken”)."
    assert reply in first
    assert reply in second

    # A new inbound message is a new suggestion at once.
    inbound(ada, channel="email", days_ago=0, hour=9, subject="Still broken")
    third, _ = view()
    assert "Still broken" in third
    assert reply not in third
