"""Release plans on a fixed clock: pilot to everyone, paused on a guardrail, rolled back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from ai_features import plans
from ai_features.models import Flag, JobRun, PlanStep, ReleasePlan, RolloutAuditEntry
from ai_features.scheduling import declared_schedules, job_get
from ai_features.services import RolloutError

T0 = timezone.now() - dt.timedelta(days=40)


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


@pytest.fixture
def plan(workspace, team, staff_user):
    staff_user.email = "owner@example.com"
    staff_user.save()
    return plans.plan_create(
        capability="prediction",
        actor=staff_user,
        reason="Pilot with EMEA first",
        pilot_teams=["EMEA Sales"],
        now=T0,
    )


def _flag():
    flag = Flag.objects.get(name="ai_prediction")
    return flag.everyone, flag.percent, sorted(flag.teams.values_list("name", flat=True))


def _runs(workspace, failed: int, total: int, at: dt.datetime):
    JobRun.objects.bulk_create(
        JobRun(
            name="score",
            capability="prediction",
            workspace=workspace,
            status="failed" if i < failed else "succeeded",
            started_at=at,
        )
        for i in range(total)
    )


def test_pilot_to_everyone_when_the_criteria_hold(plan):
    assert _flag() == (None, None, ["EMEA Sales"])
    held = plans.plan_check(capability="prediction", now=day(3))
    assert held == {
        "action": "hold",
        "milestone": "Pilot teams",
        "reasons": ["Day 4 of at least 7."],
    }
    seen = []
    for n in (7, 14, 21, 28, 28.5):
        result = plans.plan_check(capability="prediction", now=day(n))
        seen.append((result["action"], result["milestone"], _flag()[:2]))
    assert seen == [
        ("advance", "10% of users", (None, Decimal("10.0"))),
        ("advance", "25% of users", (None, Decimal("25.0"))),
        ("advance", "50% of users", (None, Decimal("50.0"))),
        ("advance", "Everyone", (True, Decimal("50.0"))),  # the percent is kept
        ("done", "Everyone", (True, Decimal("50.0"))),
    ]
    plan.refresh_from_db()
    assert plan.status == ReleasePlan.Status.DONE
    entries = RolloutAuditEntry.objects.filter(source="plan", action="phase").order_by("id")
    assert [e.actor_username for e in entries] == ["admin"] + ["release plan: Prediction"] * 4
    assert [e.after["phase"] for e in entries] == [
        "pilot",
        "percentage",
        "percentage",
        "percentage",
        "everyone",
    ]
    assert entries[1].reason.startswith(
        "Criteria held at Pilot teams: advanced to 10% of users. Every criterion holds. Evidence: "
        "Deals-won rate: not enough data yet"
    )
    assert "Job error rate: too few job runs yet (0 of 20 needed)" in entries[1].reason
    kinds = list(plan.steps.order_by("at", "id").values_list("kind", flat=True))
    assert kinds == ["start", "advance", "advance", "advance", "advance", "done"]


def test_a_guardrail_past_its_bound_pauses_and_tells_the_owners(
    plan, workspace, mailoutbox, django_capture_on_commit_callbacks
):
    plans.plan_check(capability="prediction", now=day(7))
    _runs(workspace, failed=3, total=30, at=day(12))  # 10% > 5%
    with django_capture_on_commit_callbacks(execute=True):
        result = plans.plan_check(capability="prediction", now=day(14))
    assert result["action"] == "pause"
    assert result["reasons"] == ["Job error rate is 10%, above its bound of 5%."]
    plan.refresh_from_db()
    assert (plan.status, plan.current) == ("paused", 1)
    assert _flag()[:2] == (None, Decimal("10.0"))  # stays where it was
    step = plan.steps.get(kind=PlanStep.Kind.PAUSE)
    assert step.actor_username == "" and "Job error rate: 10.0% of 30 job runs" in " ".join(
        step.evidence["guardrails"]
    )
    audit = RolloutAuditEntry.objects.get(action="plan", after__status="paused")
    assert audit.actor_username == "release plan: Prediction"
    assert audit.changes == ["Status: active → paused"]
    assert [m.subject for m in mailoutbox] == ["Prediction release plan paused"]
    assert mailoutbox[0].to == ["owner@example.com"]
    # Paused: the daily job leaves it alone.
    assert plans.plan_check(capability="prediction", now=day(15)) == {
        "skipped": "No active release plan."
    }


def test_a_severe_breach_rolls_back_one_milestone_then_off(plan, workspace, staff_user):
    plans.plan_check(capability="prediction", now=day(7))
    plans.plan_check(capability="prediction", now=day(14))  # 25%
    _runs(workspace, failed=10, total=30, at=day(15))  # 33% > 25%
    result = plans.plan_check(capability="prediction", now=day(16))
    assert result["action"] == "rollback" and result["milestone"] == "10% of users"
    assert _flag()[:2] == (None, Decimal("10.0"))
    plan.refresh_from_db()
    assert plan.status == "paused"
    rollback = RolloutAuditEntry.objects.filter(source="plan", action="phase").latest("id")
    assert rollback.actor_username == "release plan: Prediction"
    assert rollback.reason.startswith("Rolled back from 25% of users to 10% of users.")
    assert "Job error rate is 33%, past its severe bound of 25%." in rollback.reason
    # Resumed at 10% (with a reason); still breaching: back to the pilot, then off.
    plans.plan_resume(plan=plan, actor=staff_user, reason="Fixed the scorer")
    again = plans.plan_check(capability="prediction", now=day(17))
    assert again["action"] == "rollback", again
    assert _flag() == (None, None, ["EMEA Sales"])
    plans.plan_resume(plan=plan, actor=staff_user, reason="Really fixed")
    plans.plan_check(capability="prediction", now=day(18))
    assert _flag()[0] is False
    assert RolloutAuditEntry.objects.filter(source="plan", after__phase="off").exists()


def test_admins_pause_resume_and_skip_with_a_reason(plan, staff_user, user):
    with pytest.raises(RolloutError, match="reason"):
        plans.plan_pause(plan=plan, actor=staff_user, reason=" ")
    with pytest.raises(PermissionError):
        plans.plan_skip(plan=plan, actor=user, reason="me")
    plans.plan_pause(plan=plan, actor=staff_user, reason="Holiday week")
    plans.plan_resume(plan=plan, actor=staff_user, reason="Back")
    plans.plan_skip(plan=plan, actor=staff_user, reason="Pilot went well")
    assert _flag()[:2] == (None, Decimal("10.0"))
    steps = list(plan.steps.order_by("at", "id").values_list("kind", "actor_username", "reasons"))
    assert steps[1:] == [
        ("pause", "admin", ["Holiday week"]),
        ("resume", "admin", ["Back"]),
        ("skip", "admin", ["Pilot went well"]),
    ]


def test_the_plan_job_is_declared_through_the_kit_for_every_capability(plan, sandbox):
    for key in ("prediction", "personalization", "sentiment"):
        assert job_get(key, "release_plan").task.endswith(f"{key}.tasks.release_plan_task")
        assert (key, "release plan") in [(k, s.name) for k, s in declared_schedules()]
    from ai_features.capabilities.prediction.tasks import release_plan_task

    assert release_plan_task(sandbox.pk) == {
        "workspace": sandbox.pk,
        "skipped": "Release plans act on production only.",
    }


def test_milestones_parse():
    assert plans.milestones_parse("pilot 5\n10% 7\n 30, 7d\neveryone") == [
        (None, 5),
        (Decimal("10.0"), 7),
        (Decimal("30.0"), 7),
        (Decimal("100"), 7),
    ]
    for bad, message in [
        ("", "at least one"),
        ("10%\n5%", "grow"),
        ("10%\npilot", "first"),
        ("everyone\n50%", "grow|after everyone"),
        ("lots", "not a milestone"),
        ("10% x", "number"),
        ("150%", "between"),
    ]:
        with pytest.raises(RolloutError, match=message):
            plans.milestones_parse(bad)
