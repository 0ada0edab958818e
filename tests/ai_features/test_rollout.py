"""Phases, the kill switch and the append-only audit log, through the services and the CLI."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from waffle import switch_is_active

from ai_features import gate, services
from ai_features.models import Flag, RolloutAuditEntry
from crmcore import factories


def _set(staff_user, **kwargs):
    kwargs.setdefault("reason", "pilot review")
    kwargs.setdefault("source", RolloutAuditEntry.Source.DASHBOARD)
    return services.rollout_set_phase(actor=staff_user, **kwargs)


def test_rollout_set_phase__pilot_team__flag_and_audit(workspace, user, team, staff_user):
    entry = _set(staff_user, capability="sentiment", phase="pilot", teams=["EMEA Sales"])
    flag = Flag.objects.get(name="ai_sentiment")
    assert list(flag.teams.all()) == [team]
    assert flag.everyone is None
    assert gate.is_enabled("sentiment", user, workspace) is True
    assert (entry.actor, entry.actor_username, entry.source) == (staff_user, "admin", "dashboard")
    assert entry.before["phase"] == "off"
    assert entry.after["phase"] == "pilot"
    assert entry.after["teams"] == ["EMEA Sales"]
    assert entry.reason == "pilot review"


def test_rollout_set_phase__percentage__keeps_pilot_team_and_sets_percent(
    workspace, team, staff_user
):
    _set(staff_user, capability="sentiment", phase="pilot", teams=["EMEA Sales"])
    entry = _set(staff_user, capability="sentiment", percent=25)
    flag = Flag.objects.get(name="ai_sentiment")
    assert flag.percent == Decimal("25.0")
    assert list(flag.teams.all()) == [team]
    assert (entry.before["phase"], entry.after["phase"]) == ("pilot", "percentage")


def test_rollout_set_phase__everyone_then_off__gate_follows(workspace, user, staff_user):
    _set(staff_user, capability="prediction", phase="everyone")
    assert gate.is_enabled("prediction", user, workspace) is True
    _set(staff_user, capability="prediction", phase="off")
    assert gate.is_enabled("prediction", user, workspace) is False
    assert RolloutAuditEntry.objects.count() == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capability": "nope", "phase": "off"}, "Unknown capability 'nope'"),
        ({"capability": "sentiment", "phase": "later"}, "Unknown phase 'later'"),
        ({"capability": "sentiment", "phase": "pilot", "teams": ["Nobody"]}, "Unknown team"),
        ({"capability": "sentiment", "phase": "pilot", "users": ["ghost"]}, "Unknown user"),
        ({"capability": "sentiment", "phase": "pilot"}, "needs at least one"),
        ({"capability": "sentiment", "phase": "percentage"}, "needs a percent"),
        ({"capability": "sentiment", "percent": 100}, "between 0.1 and 99.9"),
        ({"capability": "sentiment", "phase": "off", "reason": "  "}, "reason is required"),
    ],
)
def test_rollout_set_phase__invalid__error_and_nothing_changed(staff_user, kwargs, message):
    before = list(Flag.objects.values_list("name", "everyone", "percent"))
    with pytest.raises(services.RolloutError, match=message):
        _set(staff_user, **kwargs)
    assert list(Flag.objects.values_list("name", "everyone", "percent")) == before
    assert RolloutAuditEntry.objects.count() == 0


def test_rollout_set_phase__non_staff__permission_error(user):
    with pytest.raises(PermissionError):
        _set(user, capability="sentiment", phase="everyone")
    assert Flag.objects.get(name="ai_sentiment").everyone is None


def test_rollout_kill_switch_set__on__every_capability_off_and_audited(
    workspace, user, staff_user, enable_capability
):
    enable_capability("sentiment", everyone=True)
    entry = services.rollout_kill_switch_set(
        active=True, actor=staff_user, reason="bad output", source="api"
    )
    assert switch_is_active(gate.KILL_SWITCH) is True
    assert gate.is_enabled("sentiment", user, workspace) is False
    assert (entry.action, entry.before["active"], entry.after["active"]) == (
        "kill_switch",
        False,
        True,
    )


def test_audit_entry__update_or_delete__refused(staff_user):
    entry = _set(staff_user, capability="sentiment", phase="everyone")
    entry.reason = "rewritten"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        RolloutAuditEntry.objects.filter(pk=entry.pk).update(reason="x")
    with pytest.raises(PermissionError):
        RolloutAuditEntry.objects.all().delete()
    assert RolloutAuditEntry.objects.get(pk=entry.pk).reason == "pilot review"


# -- CLI ---------------------------------------------------------------------------


def test_rollout_cli__set_pilot_team_and_user__applied_and_audited(
    workspace, team, staff_user, capsys
):
    alice = factories.UserFactory(username="alice")
    call_command(
        "rollout",
        "set",
        "sentiment",
        "--phase",
        "pilot",
        "--team",
        "EMEA Sales",
        "--user",
        "alice",
        "--reason",
        "EMEA pilot",
    )
    flag = Flag.objects.get(name="ai_sentiment")
    assert list(flag.teams.all()) == [team]
    assert list(flag.users.all()) == [alice]
    entry = RolloutAuditEntry.objects.get()
    assert (entry.source, entry.actor, entry.reason) == ("cli", staff_user, "EMEA pilot")
    assert "sentiment: phase pilot" in capsys.readouterr().out


def test_rollout_cli__percent_everyone_off_and_kill__applied(staff_user):
    call_command("rollout", "set", "prediction", "--percent", "25", "--reason", "widen")
    assert Flag.objects.get(name="ai_prediction").percent == Decimal("25.0")
    call_command("rollout", "set", "prediction", "--phase", "everyone", "--reason", "go")
    assert Flag.objects.get(name="ai_prediction").everyone is True
    call_command("rollout", "set", "prediction", "--phase", "off", "--reason", "stop")
    assert Flag.objects.get(name="ai_prediction").everyone is False
    call_command("rollout", "kill", "on", "--reason", "incident")
    assert switch_is_active(gate.KILL_SWITCH) is True
    call_command("rollout", "kill", "off", "--reason", "fixed")
    assert switch_is_active(gate.KILL_SWITCH) is False
    assert [e.source for e in RolloutAuditEntry.objects.all()] == ["cli"] * 5


def test_rollout_cli__status__lists_every_capability_and_kill_switch(staff_user, team, capsys):
    call_command(
        "rollout",
        "set",
        "sentiment",
        "--phase",
        "pilot",
        "--team",
        "EMEA Sales",
        "--reason",
        "pilot",
    )
    call_command("rollout", "status")
    out = capsys.readouterr().out
    assert "Kill switch: off" in out
    for key in ("prediction", "personalization", "sentiment"):
        assert key in out
    assert "teams=EMEA Sales" in out
    assert "phase=pilot" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "nope", "--phase", "off", "--reason", "x"], "Unknown capability 'nope'"),
        (
            ["set", "sentiment", "--phase", "pilot", "--team", "Ghosts", "--reason", "x"],
            "Unknown team",
        ),
        (["set", "sentiment", "--phase", "later", "--reason", "x"], "invalid choice"),
        (["set", "sentiment", "--phase", "everyone"], "--reason is required"),
        (["kill", "on"], "--reason is required"),
        (["set", "sentiment", "--reason", "x"], "Give --phase or --percent"),
    ],
)
def test_rollout_cli__invalid__command_error_and_nothing_changed(staff_user, args, message):
    before = list(Flag.objects.values_list("name", "everyone", "percent"))
    with pytest.raises(CommandError, match=message):
        call_command("rollout", *args)
    assert list(Flag.objects.values_list("name", "everyone", "percent")) == before
    assert RolloutAuditEntry.objects.count() == 0
    assert switch_is_active(gate.KILL_SWITCH) is False


def test_rollout_cli__exit_status__non_zero_on_error(staff_user):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "rollout", "set", "sentiment", "--phase", "off"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "--reason is required" in result.stderr


def test_rollout_cli__actor_not_staff__command_error(user):
    with pytest.raises(CommandError, match="No active staff user 'rep'"):
        call_command("rollout", "kill", "on", "--reason", "x", "--actor", "rep")
    assert switch_is_active(gate.KILL_SWITCH) is False
