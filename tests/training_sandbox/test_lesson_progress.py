"""Starting and checking lessons; what passing feeds (the gate's training requirement)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from waffle import get_waffle_flag_model
from waffle.testutils import override_switch

from ai_features import gate
from crmcore import factories
from crmcore import services as crm_services
from crmcore.models import Deal
from tests.training_sandbox.lesson_answers import answer_right
from training_sandbox import selectors, services
from training_sandbox.lessons import lessons
from training_sandbox.models import LessonProgress


@pytest.fixture
def trainee(sandbox):
    return sandbox.owner


def _do_crm_basics(sandbox, trainee, capture):
    contact = factories.ContactFactory(workspace=sandbox)
    deal = factories.DealFactory(workspace=sandbox, contact=contact, stage=Deal.Stage.QUALIFIED)
    with capture(execute=True):
        crm_services.interaction_create(
            workspace=sandbox, contact=contact, channel="call", subject="Hi", author=trainee
        )
        crm_services.deal_stage_change(deal=deal, stage=Deal.Stage.PROPOSAL)


def test_lesson_check__nothing_done__lists_each_missing_step(sandbox, trainee):
    services.lesson_start(user=trainee, lesson="crm-basics", workspace=sandbox)

    outcome = services.lesson_check(user=trainee, lesson="crm-basics", workspace=sandbox)

    assert outcome.passed is False
    assert outcome.missing == [
        {
            "step": "log-interaction",
            "missing": "Log an interaction on any contact "
            "(found 0 of 1 since you started this lesson).",
        },
        {
            "step": "move-deal",
            "missing": "Move a deal to another stage (found 0 of 1 since you started this lesson).",
        },
        {
            "step": "questions",
            "missing": "Answer the questions at the end of the lesson: "
            "0 of 2 answered right so far.",
        },
    ]
    progress = LessonProgress.objects.get(user=trainee, lesson="crm-basics")
    assert progress.passed_at is None
    assert progress.missing == outcome.missing


def test_lesson_check__one_step_done__only_the_other_missing(sandbox, trainee):
    services.lesson_start(user=trainee, lesson="crm-basics", workspace=sandbox)
    contact = factories.ContactFactory(workspace=sandbox)
    crm_services.interaction_create(
        workspace=sandbox, contact=contact, channel="call", subject="Hi", author=trainee
    )

    outcome = services.lesson_check(user=trainee, lesson="crm-basics", workspace=sandbox)

    assert [m["step"] for m in outcome.missing] == ["move-deal", "questions"]


def test_lesson_check__steps_done__passes_and_stays_passed_after_restart(
    sandbox, trainee, django_capture_on_commit_callbacks
):
    services.lesson_start(user=trainee, lesson="crm-basics", workspace=sandbox)
    _do_crm_basics(sandbox, trainee, django_capture_on_commit_callbacks)

    outcome = answer_right(user=trainee, lesson="crm-basics", workspace=sandbox)
    services.lesson_start(user=trainee, lesson="crm-basics", workspace=sandbox)

    assert outcome.passed is True
    assert outcome.missing == []
    assert LessonProgress.objects.get(user=trainee, lesson="crm-basics").passed_at is not None


def test_lesson_check__work_done_before_start__does_not_count(
    sandbox, trainee, django_capture_on_commit_callbacks
):
    _do_crm_basics(sandbox, trainee, django_capture_on_commit_callbacks)
    services.lesson_start(user=trainee, lesson="crm-basics", workspace=sandbox)

    outcome = services.lesson_check(user=trainee, lesson="crm-basics", workspace=sandbox)

    assert outcome.passed is False


def test_lesson_start__someone_elses_or_production_workspace__refused(sandbox, workspace, user):
    with pytest.raises(ValidationError):
        services.lesson_start(user=user, lesson="crm-basics", workspace=sandbox)
    with pytest.raises(ValidationError):
        services.lesson_start(user=user, lesson="crm-basics", workspace=workspace)


def test_lesson_start__unknown_lesson__refused(sandbox, trainee):
    with pytest.raises(ValidationError):
        services.lesson_start(user=trainee, lesson="juggling", workspace=sandbox)


def _pass(user, lesson: str, sandbox=None):
    return LessonProgress.objects.create(
        user=user, lesson=lesson, started_at="2025-01-01T00:00Z", passed_at="2025-01-02T00:00Z"
    )


def test_lesson_passed__passed_lesson__true_only_for_its_capability(user):
    _pass(user, "prediction-basics")

    assert selectors.lesson_passed(user, "prediction") is True
    assert selectors.lesson_passed(user, "sentiment") is False


def test_lesson_passed__warm__no_query(user, django_assert_num_queries):
    _pass(user, "prediction-basics")
    selectors.lesson_passed(user, "prediction")

    with django_assert_num_queries(0):
        assert selectors.lesson_passed(user, "prediction") is True


def test_lesson_passed__progress_deleted__cache_dropped(user):
    progress = _pass(user, "prediction-basics")
    assert selectors.lesson_passed(user, "prediction") is True

    progress.delete()

    assert selectors.lesson_passed(user, "prediction") is False


def test_passed_share__half_passed__one_half(user):
    other = factories.UserFactory()
    _pass(user, "sentiment-basics")

    assert selectors.passed_share([user, other.pk], "sentiment") == 0.5
    assert selectors.passed_share([], "sentiment") is None


# -- the flag's optional training requirement --------------------------------


@pytest.fixture
def training_flag(enable_capability, user):
    flag = enable_capability("prediction", users=[user])
    flag.requires_training = True
    flag.save()
    flag.flush()
    return flag


def test_gate__requires_training_not_passed__off_in_production(training_flag, user, workspace):
    assert gate.training_provider() is not None
    assert gate.is_enabled("prediction", user, workspace) is False


def test_gate__requires_training_passed__on_in_production(training_flag, user, workspace):
    _pass(user, "prediction-basics")

    assert gate.is_enabled("prediction", user, workspace) is True


def test_gate__passed_but_flag_off__off(user, workspace):
    _pass(user, "prediction-basics")
    get_waffle_flag_model().objects.get_or_create(name="ai_prediction")

    assert gate.is_enabled("prediction", user, workspace) is False


def test_gate__passed_with_kill_switch__off(training_flag, user, workspace):
    _pass(user, "prediction-basics")

    with override_switch("ai_kill_switch", active=True):
        assert gate.is_enabled("prediction", user, workspace) is False


def test_gate__check_passes_lesson__flag_turns_on_for_trainee(
    training_flag, user, workspace, django_capture_on_commit_callbacks
):
    sandbox = factories.SandboxWorkspaceFactory(owner=user)
    services.lesson_start(user=user, lesson="prediction-basics", workspace=sandbox)
    from ai_features.models import SuggestionEvent

    for action, reason in [("shown", ""), ("dismissed", "Customer renewed yesterday")]:
        SuggestionEvent.objects.create(
            workspace=sandbox, capability="prediction", action=action, user=user, reason=reason
        )
    # The deal steps: a deal's chance to win read, an open deal moved on
    deal = factories.DealFactory(workspace=sandbox, stage=Deal.Stage.QUALIFIED)
    SuggestionEvent.objects.create(
        workspace=sandbox,
        capability="prediction",
        action="shown",
        user=user,
        object_type="deal",
        object_id=deal.pk,
    )
    crm_services.deal_stage_change(deal=deal, stage=Deal.Stage.PROPOSAL)
    assert gate.is_enabled("prediction", user, workspace) is False

    with django_capture_on_commit_callbacks(execute=True):
        outcome = answer_right(user=user, lesson="prediction-basics", workspace=sandbox)

    assert outcome.passed is True
    assert gate.is_enabled("prediction", user, workspace) is True


# -- knowledge checks -----------------------------------------------------------


def test_lesson_answer__steps_done_one_answer_wrong__not_passed_until_corrected(
    sandbox, trainee, django_capture_on_commit_callbacks
):
    services.lesson_start(user=trainee, lesson="crm-basics", workspace=sandbox)
    _do_crm_basics(sandbox, trainee, django_capture_on_commit_callbacks)

    wrong = services.lesson_answer(
        user=trainee,
        lesson="crm-basics",
        workspace=sandbox,
        answers={"where-to-log": "0", "sandbox-reach": "0"},
    )
    right = services.lesson_answer(
        user=trainee, lesson="crm-basics", workspace=sandbox, answers={"sandbox-reach": "1"}
    )

    assert wrong.passed is False
    assert wrong.missing == [
        {
            "step": "questions",
            "missing": "Answer the questions at the end of the lesson: "
            "1 of 2 answered right so far.",
        }
    ]
    assert right.passed is True
    progress = LessonProgress.objects.get(user=trainee, lesson="crm-basics")
    assert progress.answers == {"where-to-log": 0, "sandbox-reach": 1}
    assert progress.passed_at is not None


@pytest.mark.parametrize(
    "answers",
    [
        {"no-such-question": "0"},
        {"where-to-log": "7"},
        {"where-to-log": "-1"},
        {"where-to-log": "first"},
        {"where-to-log": "1e9999"},
        {},
    ],
)
def test_lesson_answer__bad_answers__refused_and_nothing_recorded(sandbox, trainee, answers):
    services.lesson_start(user=trainee, lesson="crm-basics", workspace=sandbox)

    with pytest.raises(ValidationError):
        services.lesson_answer(
            user=trainee, lesson="crm-basics", workspace=sandbox, answers=answers
        )

    assert LessonProgress.objects.get(user=trainee, lesson="crm-basics").answers == {}


def test_lesson_answer__someone_elses_sandbox__refused(sandbox, user):
    with pytest.raises(ValidationError):
        services.lesson_answer(
            user=user, lesson="crm-basics", workspace=sandbox, answers={"where-to-log": "0"}
        )


def test_lessons__every_shipped_lesson_has_a_knowledge_check_with_explanations():
    for lesson in lessons():
        assert len(lesson.questions) >= 2, lesson.slug
        for question in lesson.questions:
            assert question.explanation.endswith("."), (lesson.slug, question.key)
            assert 0 <= question.answer < len(question.choices)
