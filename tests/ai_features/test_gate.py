"""The gate: order of evaluation, the training extension point, and query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from waffle.testutils import override_switch

from ai_features import gate
from ai_features.flag_rules import in_percentage
from ai_features.models import Flag
from ai_features.registry import registry
from crmcore import factories


@pytest.fixture
def provider():
    """A training provider that says yes for the users in ``passed``."""
    previous = gate.training_provider()
    passed: set[tuple[int, str]] = set()
    gate.register_training_provider(lambda user, key: (user.pk, key) in passed)
    yield passed
    gate.register_training_provider(previous)


@pytest.fixture
def no_provider():
    previous = gate.training_provider()
    gate.register_training_provider(None)
    yield
    gate.register_training_provider(previous)


def _user_in_percent(flag_name: str, percent: Decimal, inside: bool):
    while True:
        candidate = factories.UserFactory()
        if in_percentage(flag_name, candidate.pk, percent) == inside:
            return candidate


def test_is_enabled__flag_off__false(workspace, user):
    assert gate.is_enabled("sentiment", user, workspace) is False


def test_is_enabled__capability_object_or_class__same_answer(workspace, user, enable_capability):
    enable_capability("sentiment", users=[user])
    cap = registry.get("sentiment")
    assert gate.is_enabled(cap, user, workspace) is True
    assert gate.is_enabled(type(cap), user, workspace) is True


def test_is_enabled__unknown_capability__key_error(workspace, user):
    with pytest.raises(KeyError, match="Unknown capability 'nope'"):
        gate.is_enabled("nope", user, workspace)


def test_is_enabled__team_member__true(workspace, user, team, enable_capability):
    enable_capability("sentiment", teams=[team])
    assert gate.is_enabled("sentiment", user, workspace) is True
    assert gate.is_enabled("sentiment", factories.UserFactory(), workspace) is False


def test_is_enabled__kill_switch__false_even_for_everyone_and_sandbox(
    workspace, user, enable_capability
):
    enable_capability("sentiment", everyone=True)
    sandbox = factories.SandboxWorkspaceFactory(owner=user)
    with override_switch(gate.KILL_SWITCH, active=True):
        assert gate.is_enabled("sentiment", user, workspace) is False
        assert gate.is_enabled("sentiment", user, sandbox) is False


def test_is_enabled__own_sandbox__true_with_flag_off(user):
    sandbox = factories.SandboxWorkspaceFactory(owner=user)
    assert gate.is_enabled("prediction", user, sandbox) is True


def test_is_enabled__someone_elses_sandbox__false(user, enable_capability):
    enable_capability("prediction", everyone=True)
    sandbox = factories.SandboxWorkspaceFactory()
    assert gate.is_enabled("prediction", user, sandbox) is False


def test_is_enabled__anonymous__false(workspace, enable_capability):
    enable_capability("prediction", everyone=True)
    assert gate.is_enabled("prediction", AnonymousUser(), workspace) is False
    assert gate.is_enabled("prediction", None, workspace) is False


def test_is_enabled__everyone_false__false_for_listed_user(workspace, user, enable_capability):
    flag = enable_capability("sentiment", users=[user])
    flag.everyone = False
    flag.save()
    flag.flush()
    assert gate.is_enabled("sentiment", user, workspace) is False


def test_is_enabled__percentage__sticky_inside_and_outside(workspace):
    flag = Flag.objects.get(name="ai_sentiment")
    flag.percent = Decimal("30.0")
    flag.save()
    flag.flush()
    inside = _user_in_percent("ai_sentiment", Decimal("30.0"), True)
    outside = _user_in_percent("ai_sentiment", Decimal("30.0"), False)
    assert [gate.is_enabled("sentiment", inside, workspace) for _ in range(3)] == [True] * 3
    assert [gate.is_enabled("sentiment", outside, workspace) for _ in range(3)] == [False] * 3


def test_is_enabled__no_workspace_in_a_job__production_rules(user, team, enable_capability):
    enable_capability("sentiment", teams=[team])
    assert gate.is_enabled("sentiment", user, None) is True


def test_is_enabled__requires_training_no_provider__false(
    workspace, user, enable_capability, no_provider
):
    flag = enable_capability("sentiment", users=[user])
    flag.requires_training = True
    flag.save()
    flag.flush()
    assert gate.training_provider() is None
    assert gate.is_enabled("sentiment", user, workspace) is False
    assert "needs its lesson" in gate.disabled_reason("sentiment", user, workspace)


def test_is_enabled__requires_training_passed__true_only_for_passers(
    workspace, user, enable_capability, provider
):
    other = factories.UserFactory()
    flag = enable_capability("sentiment", users=[user, other])
    flag.requires_training = True
    flag.save()
    flag.flush()
    provider.add((user.pk, "sentiment"))
    assert gate.is_enabled("sentiment", user, workspace) is True
    assert gate.is_enabled("sentiment", other, workspace) is False


def test_is_enabled__training_not_required__provider_not_asked(
    workspace, user, enable_capability, provider
):
    enable_capability("sentiment", users=[user])
    gate.register_training_provider(lambda u, k: pytest.fail("asked the provider"))
    assert gate.is_enabled("sentiment", user, workspace) is True


def test_disabled_reason__flag_off__names_the_team(workspace, user):
    assert gate.disabled_reason("sentiment", user, workspace) == (
        "Sentiment is not enabled for your team."
    )


# -- query counts ----------------------------------------------------------------


@pytest.fixture
def three_team_user(workspace):
    member = factories.UserFactory()
    teams = [factories.TeamFactory(workspace=workspace, members=[member]) for _ in range(3)]
    return member, teams


def test_is_enabled__cold_team_flag__exactly_3_queries(
    workspace, three_team_user, enable_capability, django_assert_num_queries
):
    member, teams = three_team_user
    enable_capability("sentiment", teams=[teams[2]])
    gate.is_enabled("prediction", member, workspace)  # warms nothing of ai_sentiment
    Flag.get("ai_sentiment").flush()
    from django.core.cache import cache

    cache.clear()
    # switch, flag, flag members + user memberships in one union
    with django_assert_num_queries(3):
        assert gate.is_enabled("sentiment", member, workspace) is True


def test_is_enabled__warm_user_in_three_teams__0_queries(
    workspace, three_team_user, enable_capability, django_assert_num_queries
):
    member, teams = three_team_user
    enable_capability("sentiment", teams=[teams[1]])
    assert gate.is_enabled("sentiment", member, workspace) is True
    with django_assert_num_queries(0):
        for _ in range(5):
            assert gate.is_enabled("sentiment", member, workspace) is True


def test_is_enabled__warm_off_and_percentage__0_queries(workspace, user, django_assert_num_queries):
    flag = Flag.objects.get(name="ai_prediction")
    flag.percent = Decimal("40.0")
    flag.save()
    flag.flush()
    expected = in_percentage("ai_prediction", user.pk, Decimal("40.0"))
    gate.is_enabled("prediction", user, workspace)
    gate.is_enabled("sentiment", user, workspace)
    with django_assert_num_queries(0):
        assert gate.is_enabled("prediction", user, workspace) is expected
        assert gate.is_enabled("sentiment", user, workspace) is False


def test_is_enabled__cold_everyone_flag__exactly_2_queries(
    workspace, user, enable_capability, django_assert_num_queries
):
    enable_capability("sentiment", everyone=True)
    from django.core.cache import cache

    cache.clear()
    with django_assert_num_queries(2):  # switch, flag; everyone needs no members
        assert gate.is_enabled("sentiment", user, workspace) is True


def test_is_enabled__membership_change__one_query_then_warm(
    workspace, three_team_user, enable_capability, django_assert_num_queries
):
    member, teams = three_team_user
    enable_capability("sentiment", teams=[teams[0]])
    assert gate.is_enabled("sentiment", member, workspace) is True
    teams[0].members.remove(member)
    with django_assert_num_queries(1):  # the user's memberships, re-read
        assert gate.is_enabled("sentiment", member, workspace) is False
    with django_assert_num_queries(0):
        assert gate.is_enabled("sentiment", member, workspace) is False


def test_is_enabled__kill_switch_cached__0_queries(
    workspace, user, enable_capability, django_assert_num_queries
):
    enable_capability("sentiment", everyone=True)
    with override_switch(gate.KILL_SWITCH, active=True):
        assert gate.is_enabled("sentiment", user, workspace) is False
        with django_assert_num_queries(0):
            assert gate.is_enabled("sentiment", user, workspace) is False


def test_is_enabled__every_answer__counted_per_capability_for_metrics(
    workspace, user, enable_capability
):
    from prometheus_client import REGISTRY

    def counted(capability: str, decision: str) -> float:
        labels = {"capability": capability, "decision": decision}
        return REGISTRY.get_sample_value("pilotcrm_gate_decisions_total", labels) or 0.0

    before = {d: counted("sentiment", d) for d in ("on", "off")}
    other = counted("prediction", "on")

    gate.is_enabled("sentiment", user, workspace)
    enable_capability("sentiment")
    gate.is_enabled("sentiment", user, workspace)
    gate.is_enabled("sentiment", user, workspace)
    with override_switch("ai_kill_switch", active=True):
        gate.is_enabled("sentiment", user, workspace)

    assert {d: counted("sentiment", d) - before[d] for d in ("on", "off")} == {"on": 2, "off": 2}
    assert counted("prediction", "on") == other
