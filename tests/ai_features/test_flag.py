"""The custom waffle flag: teams, sticky percentage, caches, waffle compatibility."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import RequestFactory
from waffle import flag_is_active, get_waffle_flag_model
from waffle.testutils import override_flag

from ai_features.flag_rules import BUCKETS, in_percentage, percentage_bucket
from ai_features.models import Flag
from crmcore import factories

VECTORS = Path(__file__).parent / "data" / "bucket_vectors.json"


def test_flag_model__waffle_setting__is_ai_features_flag():
    assert get_waffle_flag_model() is Flag


@pytest.mark.parametrize(
    "vector",
    json.loads(VECTORS.read_text())["vectors"],
    ids=lambda v: f"{v['flag']}-{v['user_id']}",
)
def test_percentage_bucket__test_vectors__match(vector):
    assert percentage_bucket(vector["flag"], vector["user_id"]) == vector["bucket"]


@pytest.mark.parametrize(
    "percent", [Decimal("1.0"), Decimal("10.0"), Decimal("25.0"), Decimal("50.0")]
)
def test_percentage__100k_users__enabled_share_within_one_percent(percent):
    enabled = sum(in_percentage("ai_sentiment", uid, percent) for uid in range(1, 100_001))
    assert abs(enabled / 100_000 - float(percent) / 100) <= 0.01


def test_percentage__widened_from_10_to_30__everyone_inside_stays_inside():
    ids = range(1, 20_001)
    at_10 = {uid for uid in ids if in_percentage("ai_prediction", uid, Decimal("10.0"))}
    at_30 = {uid for uid in ids if in_percentage("ai_prediction", uid, Decimal("30.0"))}
    assert at_10 < at_30
    assert all(0 <= percentage_bucket("ai_prediction", uid) < BUCKETS for uid in range(1, 1000))


def test_percentage__other_flag__buckets_independently():
    ids = range(1, 5001)
    a = {uid for uid in ids if in_percentage("ai_prediction", uid, Decimal("20.0"))}
    b = {uid for uid in ids if in_percentage("ai_sentiment", uid, Decimal("20.0"))}
    assert a != b


def test_flag__everyone_false__off_even_for_its_users_and_teams(user, team):
    flag = Flag.objects.create(name="ai_sentiment_x", everyone=False, percent=Decimal("99.9"))
    flag.users.add(user)
    flag.teams.add(team)
    assert flag.is_active_for_user(user) is False


def test_flag__everyone_true__on_for_a_user_in_nothing(db):
    flag = Flag.objects.create(name="ai_x", everyone=True)
    assert flag.is_active_for_user(factories.UserFactory()) is True


def test_flag__team_member__on_and_non_member_off(workspace, user, team):
    outsider = factories.UserFactory()
    flag = Flag.objects.create(name="ai_x")
    flag.teams.add(team)
    assert flag.is_active_for_user(user) is True
    assert flag.is_active_for_user(outsider) is None


def test_flag__superuser__not_on_by_default(db):
    flag = Flag.objects.create(name="ai_x")
    assert flag.is_active_for_user(factories.StaffUserFactory()) is None


def test_flag__user_joins_flag_team__cache_flushed_and_on(workspace, team):
    newcomer = factories.UserFactory()
    flag = Flag.objects.create(name="ai_x")
    flag.teams.add(team)
    assert flag.is_active_for_user(newcomer) is None  # now cached: no teams
    team.members.add(newcomer)
    assert Flag.get("ai_x").is_active_for_user(newcomer) is True


def test_flag__user_leaves_team_from_user_side__cache_flushed_and_off(workspace, user, team):
    flag = Flag.objects.create(name="ai_x")
    flag.teams.add(team)
    assert flag.is_active_for_user(user) is True
    user.crm_teams.remove(team)
    assert Flag.get("ai_x").is_active_for_user(user) is None


def test_flag__team_members_cleared__cache_flushed(workspace, user, team):
    flag = Flag.objects.create(name="ai_x")
    flag.teams.add(team)
    assert flag.is_active_for_user(user) is True
    team.members.clear()
    assert Flag.get("ai_x").is_active_for_user(user) is None


def test_flag__team_added_to_flag_after_check__flushed(workspace, user, team):
    flag = Flag.objects.create(name="ai_x")
    assert Flag.get("ai_x").is_active_for_user(user) is None
    flag.teams.add(team)
    assert Flag.get("ai_x").is_active_for_user(user) is True


def test_flag__group_member__on_and_group_change_flushes(db):
    group = Group.objects.create(name="Support")
    member = factories.UserFactory()
    flag = Flag.objects.create(name="ai_x")
    flag.groups.add(group)
    assert Flag.get("ai_x").is_active_for_user(member) is None
    member.groups.add(group)
    assert Flag.get("ai_x").is_active_for_user(member) is True


def test_flag_is_active__percentage__sticky_across_requests(db):
    flag = Flag.objects.create(name="ai_x", percent=Decimal("50.0"))
    users = factories.UserFactory.create_batch(20)
    rf = RequestFactory()
    answers = []
    for _ in range(3):
        row = []
        for u in users:
            request = rf.get("/")
            request.user = u
            row.append(bool(flag_is_active(request, "ai_x")))
        answers.append(row)
    expected = [in_percentage("ai_x", u.pk, flag.percent) for u in users]
    assert answers == [expected, expected, expected]
    assert not hasattr(rf.get("/"), "waffles")


def test_override_flag__waffle_testutil__turns_the_flag_on_and_back(user):
    rf = RequestFactory()
    request = rf.get("/")
    request.user = user
    with override_flag("ai_x", active=True):
        assert flag_is_active(request, "ai_x") is True
    assert Flag.objects.filter(name="ai_x").exists() is False


def test_waffle_flag_command__everyone_and_users__updates_our_flag(user):
    call_command("waffle_flag", "ai_cmd", "--create", "--user", user.username)
    flag = Flag.objects.get(name="ai_cmd")
    assert list(flag.users.values_list("username", flat=True)) == [user.username]
    assert Flag.get("ai_cmd").is_active_for_user(user) is True
    call_command("waffle_flag", "ai_cmd", "--deactivate")
    flag.refresh_from_db()
    assert flag.everyone is False


def test_waffle_template_tag__flag__uses_our_flag(user, team):
    from django.template import Context, Template

    flag = Flag.objects.create(name="ai_tpl")
    flag.teams.add(team)
    request = RequestFactory().get("/")
    request.user = user
    html = Template("{% load waffle_tags %}{% flag 'ai_tpl' %}on{% else %}off{% endflag %}")
    assert html.render(Context({"request": request})) == "on"
