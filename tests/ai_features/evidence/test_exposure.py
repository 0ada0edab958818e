"""Exposure: the first yes of the gate per user and capability, in production only."""

from __future__ import annotations

from decimal import Decimal

from django.core.cache import cache

from ai_features import gate
from ai_features.exposure import exposure_key
from ai_features.models import Exposure, Flag, in_percentage
from crmcore import factories


def test_first_yes_is_recorded_once_with_its_rule(
    workspace, user, team, enable_capability, django_capture_on_commit_callbacks
):
    enable_capability("prediction", teams=[team])
    with django_capture_on_commit_callbacks(execute=True):
        assert gate.is_enabled("prediction", user, workspace)
    exposure = Exposure.objects.get()
    assert (exposure.user, exposure.capability, exposure.rule) == (user, "prediction", "pilot team")
    first_at = exposure.first_at
    # Later checks, even after the cache forgot, keep the first exposure.
    cache.delete(exposure_key("prediction", user.pk))
    with django_capture_on_commit_callbacks(execute=True):
        assert gate.is_enabled("prediction", user, workspace)
    assert list(Exposure.objects.values_list("first_at", flat=True)) == [first_at]


def test_a_warm_check_after_the_record_queues_nothing_and_queries_nothing(
    workspace,
    user,
    team,
    enable_capability,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    enable_capability("prediction", teams=[team])
    with django_capture_on_commit_callbacks(execute=True):
        gate.is_enabled("prediction", user, workspace)
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(0):
        for _ in range(3):
            assert gate.is_enabled("prediction", user, workspace)
    assert callbacks == []


def test_no_and_sandbox_answers_record_nothing(
    workspace, sandbox, user, enable_capability, django_capture_on_commit_callbacks
):
    owner = sandbox.owner
    with django_capture_on_commit_callbacks(execute=True):
        assert not gate.is_enabled("prediction", user, workspace)  # flag off
        assert gate.is_enabled("prediction", owner, sandbox)  # the trainee's own sandbox
    assert not Exposure.objects.exists()


def test_percentage_rule_and_everyone_rule(
    workspace, enable_capability, django_capture_on_commit_callbacks
):
    flag = Flag.objects.get(name="ai_sentiment")
    flag.percent = Decimal("30.0")
    flag.save()
    flag.flush()
    inside = next(
        u
        for u in (factories.UserFactory() for _ in range(200))
        if in_percentage("ai_sentiment", u.pk, Decimal("30.0"))
    )
    enable_capability("personalization", everyone=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert gate.is_enabled("sentiment", inside, workspace)
        assert gate.is_enabled("personalization", inside, None)  # a job: production rules
    rules = dict(Exposure.objects.values_list("capability", "rule"))
    assert rules == {"sentiment": "30% of users", "personalization": "everyone"}
