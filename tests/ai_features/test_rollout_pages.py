"""Rollout dashboard, audit log pages, the rollout API and the admin: staff only, audited."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from waffle import get_waffle_switch_model, switch_is_active

from ai_features import gate, metrics, services
from ai_features.models import Flag, JobRun, RolloutAuditEntry, SuggestionEvent
from crmcore import factories
from crmcore.models import Deal

DASHBOARD = "/ai/rollout/"
API = "/api/v1/rollout/"


def _events(workspace, user, capability, **counts):
    SuggestionEvent.objects.bulk_create(
        SuggestionEvent(workspace=workspace, capability=capability, action=action, user=user)
        for action, n in counts.items()
        for _ in range(n)
    )


# -- dashboard -----------------------------------------------------------------------


def test_dashboard__staff__shows_every_capability_with_metrics(
    staff_client, workspace, user, team, staff_user
):
    services.rollout_set_phase(
        capability="sentiment",
        phase="pilot",
        teams=["EMEA Sales"],
        actor=staff_user,
        reason="pilot",
        source="cli",
    )
    _events(workspace, user, "sentiment", shown=10, accepted=3, dismissed=1)
    response = staff_client.get(DASHBOARD)
    assert response.status_code == 200
    html = response.content.decode()
    for key in ("prediction", "personalization", "sentiment"):
        assert f'data-capability="{key}"' in html
    assert "EMEA Sales" in html
    assert '<td data-testid="shown">10</td>' in html
    assert '<td data-testid="acceptance">75%</td>' in html
    assert html.count('<svg class="chart sparkline"') == 3
    assert html.count('data-testid="statements"') == 3
    assert "Deals-won rate: not enough data yet (no rep has had Prediction)." in html
    assert "Target users who passed its lesson" in html


@pytest.fixture
def bulk_provider():
    """A training provider with the bulk form: half of any target group passed."""
    previous = gate.training_provider()
    gate.register_training_provider(lambda user, key: False, share=lambda ids, key: 0.5)
    yield
    gate.register_training_provider(previous)


def test_dashboard__no_pilots__query_count_pinned(
    staff_client, workspace, user, bulk_provider, django_assert_num_queries
):
    _events(workspace, user, "sentiment", shown=5, accepted=2)
    factories.DealFactory.create_batch(3, stage=Deal.Stage.WON, owner=user)
    staff_client.get(DASHBOARD)  # warms the gate checks of the page header
    # session, user, flags + 3 prefetches, 2 event counts, jobs, workspace,
    # exposures, guardrail job runs and responses, kill switch, recent audit,
    # request workspace, release plans (no outcome is read before anyone is exposed)
    with django_assert_num_queries(17):
        assert staff_client.get(DASHBOARD).status_code == 200


def test_dashboard__pilots__query_count_independent_of_data(
    staff_client, workspace, user, team, staff_user, bulk_provider, django_assert_num_queries
):
    for key in ("prediction", "sentiment"):
        services.rollout_set_phase(
            capability=key,
            phase="pilot",
            teams=["EMEA Sales"],
            users=["rep"],
            actor=staff_user,
            reason="pilot",
            source="cli",
        )
    staff_client.get(DASHBOARD)
    with django_assert_num_queries(18):  # + the pilot teams' members
        assert staff_client.get(DASHBOARD).status_code == 200
    more = factories.TeamFactory(workspace=workspace, members=factories.UserFactory.create_batch(3))
    services.rollout_set_phase(
        capability="personalization",
        phase="pilot",
        teams=[more.name],
        actor=staff_user,
        reason="pilot",
        source="cli",
    )
    factories.DealFactory.create_batch(3, stage=Deal.Stage.LOST)
    _events(workspace, user, "prediction", shown=5, dismissed=2)
    staff_client.get(DASHBOARD)
    with django_assert_num_queries(18):
        response = staff_client.get(DASHBOARD)
    assert "Target users who passed its lesson: 50%" in response.content.decode()


def test_dashboard__non_staff__403_and_anonymous_redirected(logged_in_client, client):
    assert logged_in_client.get(DASHBOARD).status_code == 403
    assert (
        logged_in_client.post(DASHBOARD, {"kill": "1", "active": "on", "reason": "x"}).status_code
        == 403
    )
    assert (
        logged_in_client.post(
            DASHBOARD,
            {"capability": "sentiment", "phase": "everyone", "reason": "x"},
        ).status_code
        == 403
    )
    assert switch_is_active(gate.KILL_SWITCH) is False
    assert Flag.objects.get(name="ai_sentiment").everyone is None
    assert RolloutAuditEntry.objects.count() == 0


def test_dashboard__anonymous__redirected_to_login(client, db):
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_dashboard_post__phase__applied_and_audited(staff_client, staff_user, team):
    response = staff_client.post(
        DASHBOARD,
        {
            "capability": "sentiment",
            "phase": "pilot",
            "teams": "EMEA Sales",
            "reason": "go",
            "confirmed": "on",
        },
    )
    assert response.status_code == 302
    entry = RolloutAuditEntry.objects.get()
    assert (entry.source, entry.actor, entry.after["teams"]) == (
        "dashboard",
        staff_user,
        ["EMEA Sales"],
    )


def test_dashboard_post__missing_reason__400_nothing_changed(staff_client, db):
    response = staff_client.post(DASHBOARD, {"capability": "sentiment", "phase": "everyone"})
    assert response.status_code == 400
    assert Flag.objects.get(name="ai_sentiment").everyone is None
    assert RolloutAuditEntry.objects.count() == 0


def test_dashboard_post__unknown_team__400_with_error(staff_client, db):
    response = staff_client.post(
        DASHBOARD,
        {
            "capability": "sentiment",
            "phase": "pilot",
            "teams": "Ghosts",
            "reason": "x",
            "confirmed": "on",
        },
    )
    assert response.status_code == 400
    assert "Unknown team(s): Ghosts" in response.content.decode()


def test_dashboard_post__kill_switch__on_and_audited(staff_client, staff_user):
    response = staff_client.post(
        DASHBOARD, {"kill": "1", "active": "on", "reason": "incident", "confirmed": "on"}
    )
    assert response.status_code == 302
    assert switch_is_active(gate.KILL_SWITCH) is True
    assert RolloutAuditEntry.objects.get().source == "dashboard"


def test_nav_item__staff_only(staff_client):
    from django.test import RequestFactory

    from crmcore import extensions

    assert 'data-nav="ai-rollout"' in staff_client.get(DASHBOARD).content.decode()
    request = RequestFactory().get("/")
    request.user = factories.UserFactory()
    assert extensions.nav_items.get("ai-rollout").visible(request) is False


def test_overview__weekly_trend_and_readiness(workspace, user, settings):
    from ai_features.selectors import rollout_overview

    settings.AI_FEATURES_READINESS_MIN_RESPONSES = 4
    last_week = timezone.now() - dt.timedelta(days=7)
    SuggestionEvent.objects.bulk_create(
        [
            SuggestionEvent(
                workspace=workspace,
                capability="prediction",
                action="accepted",
                created_at=last_week,
            )
        ]
        * 1
        + [
            SuggestionEvent(
                workspace=workspace,
                capability="prediction",
                action="dismissed",
                created_at=last_week,
            )
        ]
        + [SuggestionEvent(workspace=workspace, capability="prediction", action="accepted")] * 3
    )
    JobRun.objects.create(
        name="score", capability="prediction", workspace=workspace, status="succeeded"
    )
    JobRun.objects.create(
        name="score", capability="prediction", workspace=workspace, status="failed"
    )
    cap = next(c for c in rollout_overview().capabilities if c.key == "prediction")
    assert [p.acceptance_rate for p in cap.weekly][-2:] == [0.5, 1.0]
    assert len(cap.weekly) == 8
    acceptance, errors, trained = cap.readiness
    assert (acceptance.value, acceptance.passed) == (0.8, True)
    assert (errors.value, errors.passed) == (0.5, False)
    assert trained.label == "Target users who passed its lesson"
    assert cap.ready_to_widen is False


def test_overview__pilot_metrics_recorded__not_counted_as_the_capabilitys_jobs(
    workspace, user, django_capture_on_commit_callbacks
):
    from ai_features.selectors import rollout_overview

    JobRun.objects.create(
        name="score", capability="prediction", workspace=workspace, status="failed"
    )
    shown = [
        services.SuggestionEventInput(
            capability="prediction",
            action="shown",
            user_id=user.pk,
            workspace_id=workspace.pk,
            object_type="contact",
            object_id=i,
        )
        for i in range(3)
    ]
    # Three page views that showed a score, each recording its metrics
    # (eagerly here; a worker with a broker).
    with django_capture_on_commit_callbacks(execute=True):
        for event in shown:
            metrics.suggestion_events_record_later(events=[event])

    assert SuggestionEvent.objects.filter(capability="prediction").count() == 3
    cap = next(c for c in rollout_overview().capabilities if c.key == "prediction")
    errors = cap.readiness[1]
    assert (errors.value, errors.passed) == (1.0, False)


def test_audit_log_page_and_csv__staff__lists_and_exports(staff_client, staff_user):
    services.rollout_kill_switch_set(
        active=True, actor=staff_user, reason="incident, bad", source="cli"
    )
    page = staff_client.get("/ai/rollout/audit/")
    assert page.status_code == 200
    assert "incident, bad" in page.content.decode()
    export = staff_client.get("/ai/rollout/audit.csv")
    assert export["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0][:4] == ["created_at", "actor", "source", "action"]
    assert rows[1][1:7] == ["admin", "cli", "kill_switch", "", "ai_kill_switch", "incident, bad"]


def test_audit_log__non_staff__403(logged_in_client):
    assert logged_in_client.get("/ai/rollout/audit/").status_code == 403
    assert logged_in_client.get("/ai/rollout/audit.csv").status_code == 403


# -- API -------------------------------------------------------------------------------


def test_api_list__staff__every_capability_and_kill_switch(staff_api_client):
    response = staff_api_client.get(API)
    assert response.status_code == 200
    assert response.json()["kill_switch"] is False
    assert {c["key"] for c in response.json()["capabilities"]} >= {
        "prediction",
        "personalization",
        "sentiment",
    }


def test_api_set__pilot_and_percent__applied_and_audited(staff_api_client, staff_user, team):
    response = staff_api_client.post(
        f"{API}sentiment/", {"phase": "pilot", "teams": ["EMEA Sales"], "reason": "pilot"}
    )
    assert response.status_code == 200
    assert (response.json()["phase"], response.json()["teams"]) == ("pilot", ["EMEA Sales"])
    response = staff_api_client.post(f"{API}sentiment/", {"percent": "25", "reason": "widen"})
    assert (response.json()["phase"], response.json()["percent"]) == ("percentage", "25.0")
    assert [e.source for e in RolloutAuditEntry.objects.all()] == ["api", "api"]


@pytest.mark.parametrize(
    ("path", "payload", "code"),
    [
        ("sentiment/", {"phase": "everyone"}, 400),
        ("sentiment/", {"phase": "later", "reason": "x"}, 400),
        ("sentiment/", {"phase": "pilot", "teams": ["Ghosts"], "reason": "x"}, 400),
        ("nope/", {"phase": "off", "reason": "x"}, 404),
        ("kill-switch/", {"active": True}, 400),
    ],
)
def test_api_set__invalid__error_nothing_changed(staff_api_client, path, payload, code):
    assert staff_api_client.post(f"{API}{path}", payload).status_code == code
    assert RolloutAuditEntry.objects.count() == 0
    assert Flag.objects.get(name="ai_sentiment").everyone is None


def test_api_kill_switch__staff__on(staff_api_client):
    response = staff_api_client.post(f"{API}kill-switch/", {"active": True, "reason": "stop"})
    assert response.json() == {"kill_switch": True}
    assert RolloutAuditEntry.objects.get().source == "api"


def test_api__non_staff__403_on_every_route(api_client):
    assert api_client.get(API).status_code == 403
    assert (
        api_client.post(f"{API}sentiment/", {"phase": "everyone", "reason": "x"}).status_code == 403
    )
    assert api_client.post(f"{API}kill-switch/", {"active": True, "reason": "x"}).status_code == 403
    assert switch_is_active(gate.KILL_SWITCH) is False
    assert Flag.objects.get(name="ai_sentiment").everyone is None


def test_api__anonymous__401_or_403(client, db):
    from rest_framework.test import APIClient

    assert APIClient().get(API).status_code in (401, 403)


# -- admin ------------------------------------------------------------------------------


def test_admin_flag_edit__audited_with_typed_reason(staff_client, staff_user, team):
    flag = Flag.objects.get(name="ai_sentiment")
    url = reverse("admin:ai_features_flag_change", args=[flag.pk])
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(
        url,
        {
            "name": "ai_sentiment",
            "everyone": "unknown",
            "percent": "",
            "languages": "",
            "note": "",
            "teams": [team.pk],
            "users": "",
            "groups": [],
            "audit_reason": "EMEA first",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = RolloutAuditEntry.objects.get()
    assert (entry.source, entry.actor, entry.capability, entry.reason) == (
        "admin",
        staff_user,
        "sentiment",
        "EMEA first",
    )
    assert (entry.before["teams"], entry.after["teams"]) == ([], ["EMEA Sales"])
    assert (entry.before["phase"], entry.after["phase"]) == ("off", "pilot")


def test_admin_flag_action_enable_for_all__audited(staff_client):
    flag = Flag.objects.get(name="ai_prediction")
    response = staff_client.post(
        reverse("admin:ai_features_flag_changelist"),
        {"action": "enable_for_all", "_selected_action": [flag.pk]},
    )
    assert response.status_code == 302
    assert Flag.objects.get(pk=flag.pk).everyone is True
    assert RolloutAuditEntry.objects.get().after["phase"] == "everyone"


def test_admin_kill_switch_edit__audited(staff_client):
    switch = get_waffle_switch_model().objects.create(name=gate.KILL_SWITCH, active=False)
    url = reverse("admin:waffle_switch_change", args=[switch.pk])
    response = staff_client.post(
        url, {"name": gate.KILL_SWITCH, "active": "on", "note": "", "audit_reason": "incident"}
    )
    assert response.status_code == 302
    entry = RolloutAuditEntry.objects.get()
    assert (entry.action, entry.before["active"], entry.after["active"], entry.reason) == (
        "kill_switch",
        False,
        True,
        "incident",
    )


def test_admin_audit_log__read_only(staff_client, staff_user):
    entry = services.rollout_kill_switch_set(
        active=True, actor=staff_user, reason="x", source="cli"
    )
    assert (
        staff_client.get(reverse("admin:ai_features_rolloutauditentry_changelist")).status_code
        == 200
    )
    assert staff_client.get(reverse("admin:ai_features_rolloutauditentry_add")).status_code == 403
    response = staff_client.post(
        reverse("admin:ai_features_rolloutauditentry_change", args=[entry.pk]), {"reason": "y"}
    )
    assert response.status_code == 403
    delete = reverse("admin:ai_features_rolloutauditentry_delete", args=[entry.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    assert RolloutAuditEntry.objects.get().reason == "x"


def test_admin__non_staff__cannot_change_flag_or_switch(logged_in_client):
    flag = Flag.objects.get(name="ai_sentiment")
    response = logged_in_client.post(
        reverse("admin:ai_features_flag_changelist"),
        {"action": "enable_for_all", "_selected_action": [flag.pk]},
    )
    assert response.status_code == 302
    assert "/admin/login/" in response.url
    response = logged_in_client.post(
        reverse("admin:waffle_switch_add"), {"name": gate.KILL_SWITCH, "active": "on"}
    )
    assert "/admin/login/" in response.url
    assert Flag.objects.get(pk=flag.pk).everyone is None
    assert switch_is_active(gate.KILL_SWITCH) is False


@pytest.mark.parametrize("char", ["=", "+", "-", "@", "\t", "\r"])
def test_audit_log_csv__reason_starting_with_formula_character__neutralised(
    staff_client, staff_user, char
):
    reason = f'{char}HYPERLINK("http://evil.example","x")'
    RolloutAuditEntry.objects.create(
        actor=staff_user,
        actor_username=staff_user.username,
        source="cli",
        action="kill_switch",
        target="ai_kill_switch",
        reason=reason,
    )

    export = staff_client.get("/ai/rollout/audit.csv")

    rows = list(csv.reader(io.StringIO(export.content.decode(), newline="")))
    assert rows[1][6] == "'" + reason
