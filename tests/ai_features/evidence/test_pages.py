"""Safer controls (impact before confirming, no destructive defaults, readable audit) and the
release-plan page."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from waffle import switch_is_active

from ai_features import gate, plans, services
from ai_features.models import (
    Exposure,
    Flag,
    PlanStep,
    ReleasePlan,
    RolloutAuditEntry,
    audit_changes,
)
from crmcore import factories

DASHBOARD = "/ai/rollout/"
PLAN = "/ai/rollout/plans/prediction/"


def test_a_phase_change_shows_its_impact_and_changes_nothing_until_confirmed(
    staff_client, workspace, team, user
):
    factories.TeamFactory(workspace=workspace, name="APAC", members=[factories.UserFactory()])
    data = {
        "capability": "sentiment",
        "phase": "pilot",
        "teams": "EMEA Sales, APAC",
        "reason": "go",
    }
    response = staff_client.post(DASHBOARD, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<p class="impact" data-testid="impact">Turns Sentiment on for 2 more users.</p>' in html
    assert not Flag.objects.get(name="ai_sentiment").teams.exists()
    assert not RolloutAuditEntry.objects.exists()
    assert '<input type="hidden" name="teams" value="EMEA Sales, APAC">' in html
    response = staff_client.post(DASHBOARD, {**data, "confirmed": "on"})
    assert response.status_code == 302
    assert Flag.objects.get(name="ai_sentiment").teams.count() == 2
    off = staff_client.post(DASHBOARD, {"capability": "sentiment", "phase": "off", "reason": "x"})
    assert "Turns Sentiment off for 2 users who have it now." in off.content.decode()


def test_the_kill_switch_shows_who_loses_what_before_confirming(staff_client, team, user):
    services.rollout_set_phase(
        capability="prediction",
        phase="pilot",
        teams=["EMEA Sales"],
        actor=factories.StaffUserFactory(),
        reason="p",
        source="cli",
    )
    response = staff_client.post(DASHBOARD, {"kill": "1", "active": "on", "reason": "incident"})
    html = response.content.decode()
    assert "Turns every AI capability off for everyone: Prediction for 1 user, " in html
    assert not switch_is_active(gate.KILL_SWITCH)


def test_no_form_is_preset_to_a_destructive_choice(staff_client):
    html = staff_client.get(DASHBOARD).content.decode()
    assert '<option value="" selected>Choose a phase…</option>' in html
    assert '<option value="" selected>Choose a capability…</option>' in html
    assert '<option value="" selected>Choose…</option>' in html
    assert '<option value="on" selected>' not in html
    # Submitting the untouched forms changes nothing.
    assert staff_client.post(DASHBOARD, {"kill": "1", "reason": "x"}).status_code == 400
    assert staff_client.post(DASHBOARD, {"reason": "x"}).status_code == 400


def test_the_audit_log_reads_as_differences(staff_client, staff_user, team):
    services.rollout_set_phase(
        capability="prediction",
        phase="pilot",
        teams=["EMEA Sales"],
        actor=staff_user,
        reason="pilot",
        source="cli",
    )
    entry = services.rollout_set_phase(
        capability="prediction", percent=25, actor=staff_user, reason="widen", source="cli"
    )
    assert entry.changes == ["Phase: pilot → percentage", "Percent: none → 25"]
    html = staff_client.get("/ai/rollout/audit/").content.decode()
    assert "<li>Percent: none → 25</li>" in html
    assert "{&#x27;" not in html  # no raw dicts
    assert audit_changes({"active": False}, {"active": True}) == ["Kill switch: off → on"]


def test_plan_page_start_with_confirmation_then_timeline(staff_client, workspace, team, user):
    response = staff_client.get(PLAN)
    assert "Start a release plan" in response.content.decode()
    data = {
        "create": "1",
        "pilot_teams": "EMEA Sales",
        "milestones": "pilot 7\n20% 7\neveryone",
        "reason": "Start",
    }
    response = staff_client.post(PLAN, data)
    assert "Turns Prediction on for 1 more user." in response.content.decode()
    assert not ReleasePlan.objects.exists()
    assert staff_client.post(PLAN, {**data, "confirmed": "on"}).status_code == 302
    html = staff_client.get(PLAN).content.decode()
    assert html.count('class="milestone"') == 3
    assert '<li class="milestone" data-state="current">' in html
    assert "Pilot teams" in html and "20% of users" in html and "Everyone" in html


def test_plan_page_actions_need_a_reason_and_staff(staff_client, staff_user, user, workspace, team):
    from django.test import Client

    rep = Client()
    rep.force_login(user)
    plan = plans.plan_create(
        capability="prediction", actor=staff_user, reason="s", pilot_teams=["EMEA Sales"]
    )
    assert staff_client.post(PLAN, {"action": "pause", "reason": ""}).status_code == 400
    assert staff_client.post(PLAN, {"action": "explode", "reason": "x"}).status_code == 400
    assert rep.post(PLAN, {"action": "pause", "reason": "x"}).status_code == 403
    assert staff_client.get("/ai/rollout/plans/nope/").status_code == 404
    skip = staff_client.post(PLAN, {"action": "skip", "reason": "went well"})
    assert "Skip to 10% of users?" in skip.content.decode()
    assert staff_client.post(PLAN, {"action": "pause", "reason": "Holiday"}).status_code == 302
    plan.refresh_from_db()
    assert plan.status == "paused"
    assert plan.steps.filter(kind=PlanStep.Kind.PAUSE, actor_username="admin").exists()
    bad = staff_client.post(PLAN, {"milestones_edit": "1", "milestones": "50%\n10%", "reason": "x"})
    assert bad.status_code == 400 and "percentages must grow" in bad.content.decode()


def test_plan_page_query_count_pinned(
    staff_client, staff_user, workspace, team, django_assert_num_queries
):
    plan = plans.plan_create(
        capability="prediction", actor=staff_user, reason="s", pilot_teams=["EMEA Sales"]
    )
    for n in range(3):
        plans.plan_check(capability="prediction", now=timezone.now() + dt.timedelta(days=8 * n))
    staff_client.get(PLAN)
    # session, user, plan + milestones + owners, exposures, job runs, responses,
    # steps, request workspace, production workspace (nobody exposed: no outcome read)
    with django_assert_num_queries(11):
        assert staff_client.get(PLAN).status_code == 200
    # Exposed users: each capability's outcomes are read (prediction: deals and churn
    # warnings, plus their contacts when there are warnings; personalization 2; sentiment 1).
    for key in ("prediction", "personalization", "sentiment"):
        Exposure.objects.create(user=staff_user, capability=key, rule="pilot team")
    factories.DealFactory.create_batch(3, stage="won", owner=staff_user, closed_at=timezone.now())
    with django_assert_num_queries(16):
        response = staff_client.get(PLAN)
    assert response.status_code == 200
    assert plan.steps.count() >= 2
