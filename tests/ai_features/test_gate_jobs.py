"""The gate for jobs: the same rules and kill switch as the gate for people.

Every capability's jobs ask ``gate.jobs_allowed``; this matrix runs each rule
for each capability on the job path and on the request path side by side.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from waffle import get_waffle_flag_model
from waffle.testutils import override_switch

from ai_features import gate
from ai_features.registry import registry
from crmcore import factories

CAPABILITIES = ["prediction", "personalization", "sentiment"]


def _flag(key: str):
    flag, _ = get_waffle_flag_model().objects.get_or_create(name=registry.get(key).flag_name)
    return flag


def _save(flag, **fields):
    for name, value in fields.items():
        setattr(flag, name, value)
    flag.save()
    flag.flush()


@pytest.mark.parametrize("key", CAPABILITIES)
def test_jobs_allowed__flag_off__refused_with_reason(workspace, key):
    decision = gate.jobs_allowed(key, workspace)

    assert decision.allowed is False
    assert decision.reason == f"{registry.get(key).title} is not enabled for anyone."


@pytest.mark.parametrize("key", CAPABILITIES)
@pytest.mark.parametrize(
    ("rule", "who"),
    [
        ({"everyone": True}, "everyone"),
        ({"authenticated": True}, "every signed-in user"),
        ({"staff": True}, "staff"),
        ({"superusers": True}, "superusers"),
        ({"percent": Decimal("10")}, "10% of users"),
    ],
)
def test_jobs_allowed__flag_on_for_someone__allowed(workspace, key, rule, who):
    _save(_flag(key), **rule)

    decision = gate.jobs_allowed(key, workspace)

    assert decision.allowed is True
    assert decision.reason == f"{registry.get(key).title} is on for {who}."


@pytest.mark.parametrize("key", CAPABILITIES)
def test_jobs_allowed__superusers_only__jobs_run_and_a_superuser_gets_it(workspace, user, key):
    # Given a flag for superusers only
    _save(_flag(key), superusers=True)
    superuser = factories.UserFactory(is_superuser=True, is_staff=True)

    # Then the jobs run (someone can see their output) and the gate agrees per person
    assert gate.jobs_allowed(key, workspace).allowed is True
    assert gate.is_enabled(key, superuser, workspace) is True
    assert gate.is_enabled(key, user, workspace) is False


@pytest.mark.parametrize("key", CAPABILITIES)
@pytest.mark.parametrize("member", ["users", "teams", "groups"])
def test_jobs_allowed__named_members__allowed(workspace, user, team, key, member):
    flag = _flag(key)
    if member == "users":
        flag.users.add(user)
    elif member == "teams":
        flag.teams.add(team)
    else:
        group = Group.objects.create(name="pilot")
        user.groups.add(group)
        flag.groups.add(group)
    flag.flush()

    assert gate.jobs_allowed(key, workspace).allowed is True
    assert gate.is_enabled(key, user, workspace) is True


@pytest.mark.parametrize("key", CAPABILITIES)
def test_jobs_allowed__everyone_false__refused_even_with_members(workspace, user, key):
    flag = _flag(key)
    flag.users.add(user)
    _save(flag, everyone=False)

    assert gate.jobs_allowed(key, workspace).allowed is False
    assert gate.is_enabled(key, user, workspace) is False


@pytest.mark.parametrize("key", CAPABILITIES)
def test_jobs_allowed__sandbox_with_flag_off__allowed(sandbox, key):
    decision = gate.jobs_allowed(key, sandbox)

    assert decision.allowed is True
    assert gate.is_enabled(key, sandbox.owner, sandbox) is True


@pytest.mark.parametrize("key", CAPABILITIES)
def test_jobs_allowed__kill_switch__refused_in_production_and_sandbox(
    workspace, sandbox, enable_capability, key
):
    enable_capability(key)

    with override_switch(gate.KILL_SWITCH, active=True):
        decision = gate.jobs_allowed(key, workspace)
        assert decision.allowed is False
        assert decision.reason == "AI features are switched off for everyone (kill switch)."
        assert gate.jobs_allowed(key, sandbox).allowed is False
        assert gate.is_enabled(key, sandbox.owner, sandbox) is False


def test_jobs_allowed__warm__no_query(workspace, enable_capability, django_assert_num_queries):
    enable_capability("sentiment")
    gate.jobs_allowed("sentiment", workspace)

    with django_assert_num_queries(0):
        assert gate.jobs_allowed("sentiment", workspace).allowed is True


def test_jobs_allowed__flag_change__seen_at_once(workspace, enable_capability):
    flag = enable_capability("prediction")
    assert gate.jobs_allowed("prediction", workspace).allowed is True

    _save(flag, everyone=None)

    assert gate.jobs_allowed("prediction", workspace).allowed is False
