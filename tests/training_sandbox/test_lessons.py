"""Lesson definitions (data) and the registry of generic checks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from ai_features.models import SuggestionEvent
from ai_features.registry import registry
from crmcore import factories
from training_sandbox.lessons import LessonError, get_lesson, lesson_for_capability, lessons
from training_sandbox.lessons.checks import CheckContext, run_check
from training_sandbox.lessons.definitions import lesson_from_dict
from training_sandbox.models import SandboxEvent


def _lesson(**check) -> dict:
    return {
        "slug": "demo",
        "title": "Demo",
        "steps": [{"key": "one", "title": "One", "instructions": "Do it", "check": check}],
    }


BUILTIN = {
    "crm-basics": None,
    "crm-duplicates": None,
    "prediction-basics": "prediction",
    "prediction-next-needs": "prediction",
    "prediction-win-forecast": "prediction",
    "prediction-tasks": "prediction",
    "personalization-basics": "personalization",
    "personalization-campaign-send": "personalization",
    "sentiment-basics": "sentiment",
    "import-mapping": None,
    "rollout-evidence": None,
}


def test_lessons__builtin__crm_basics_first_and_each_capability_basics_before_the_rest():
    builtin = lessons()
    slugs = [lesson.slug for lesson in builtin]

    assert {lesson.slug: lesson.capability for lesson in builtin} == BUILTIN
    assert slugs[0] == "crm-basics"
    for capability in registry:
        own = [lesson.slug for lesson in builtin if lesson.capability == capability.key]
        assert own[0] == capability.lesson, own
        # A capability's lessons follow each other in the list
        assert slugs[slugs.index(own[0]) : slugs.index(own[0]) + len(own)] == own
    assert len({lesson.order for lesson in builtin}) == len(builtin), "two lessons share an order"


@pytest.mark.parametrize("slug", sorted(BUILTIN))
def test_lesson__builtin__steps_check_work_done_since_the_start_and_link_to_a_page(slug):
    lesson = get_lesson(slug)

    assert len(lesson.steps) >= 2
    for step in lesson.steps:
        assert step.check["since"] == "lesson_start", step.key
        assert step.check.get("missing"), step.key
        assert reverse(step.hint_url).startswith("/"), step.key


@pytest.mark.parametrize("slug", sorted(BUILTIN))
def test_lesson__builtin__two_or_three_questions_each_with_an_explanation(slug):
    questions = get_lesson(slug).questions

    assert 2 <= len(questions) <= 3
    for question in questions:
        assert len(question.choices) >= 2
        assert len(question.explanation) > 40, question.key


@pytest.mark.parametrize("key", ["prediction", "personalization", "sentiment"])
def test_lesson_for_capability__builtin__matches_registry_slug(key):
    lesson = lesson_for_capability(key)

    assert lesson.slug == f"{key}-basics"
    assert lesson.capability == key
    assert len(lesson.steps) >= 2


def test_lesson_from_dict__unknown_check_type__raises():
    with pytest.raises(LessonError, match="unknown check type 'telepathy'"):
        lesson_from_dict(_lesson(type="telepathy"))


def test_lesson_from_dict__unknown_model__raises():
    with pytest.raises(LessonError, match=r"unknown model 'crmcore\.Nothing'"):
        lesson_from_dict(_lesson(type="records", model="crmcore.Nothing"))


def test_lesson_from_dict__model_without_workspace__raises():
    with pytest.raises(LessonError, match="not workspace-scoped"):
        lesson_from_dict(_lesson(type="records", model="auth.User"))


def test_lesson_from_dict__unknown_filter_field__raises():
    with pytest.raises(LessonError, match="Interaction has no field 'mood'"):
        lesson_from_dict(_lesson(type="records", model="crmcore.Interaction", filter={"mood": 1}))


def test_lesson_from_dict__bad_min__raises():
    with pytest.raises(LessonError, match="'min' must be a positive integer"):
        lesson_from_dict(_lesson(type="records", model="crmcore.Interaction", min=0))


def test_lesson_from_dict__duplicate_step_keys__raises():
    data = _lesson(type="events", event="deal.stage_changed")
    data["steps"].append(dict(data["steps"][0]))

    with pytest.raises(LessonError, match="duplicate key 'one'"):
        lesson_from_dict(data)


def _with_questions(*questions) -> dict:
    return {**_lesson(type="records", model="crmcore.Interaction"), "questions": list(questions)}


def _question(**overrides) -> dict:
    return {
        "key": "q1",
        "text": "Which?",
        "choices": ["This", "That"],
        "answer": 1,
        "explanation": "That, because.",
        **overrides,
    }


def test_lesson_from_dict__questions__loaded_with_answer_key():
    lesson = lesson_from_dict(_with_questions(_question(), _question(key="q2", answer=0)))

    assert [(q.key, q.choices, q.answer) for q in lesson.questions] == [
        ("q1", ("This", "That"), 1),
        ("q2", ("This", "That"), 0),
    ]
    assert lesson.question("q2").is_right(0) and not lesson.question("q2").is_right(1)


@pytest.mark.parametrize(
    ("question", "message"),
    [
        (_question(answer=2), "'answer' must be the index of the right choice"),
        (_question(answer=True), "'answer' must be the index of the right choice"),
        (_question(answer="1"), "'answer' must be the index of the right choice"),
        (_question(choices=["Only one"]), "'choices' must list two or more answers"),
        (_question(choices=["A", ""]), "'choices' must list two or more answers"),
        (_question(explanation=""), "'explanation' is required"),
        (_question(text=""), "'text' is required"),
    ],
)
def test_lesson_from_dict__bad_question__raises(question, message):
    with pytest.raises(LessonError, match=message):
        lesson_from_dict(_with_questions(question))


def test_lesson_from_dict__duplicate_question_keys__raises():
    with pytest.raises(LessonError, match="duplicate key 'q1'"):
        lesson_from_dict(_with_questions(_question(), _question()))


def test_lesson_dirs__extra_directory__new_lesson_without_code(tmp_path, settings):
    (tmp_path / "calls.json").write_text(
        '{"slug": "calls", "title": "Calls", "order": 99, "steps": [{"key": "call",'
        ' "title": "Log a call", "instructions": "Call someone",'
        ' "check": {"type": "records", "model": "crmcore.Interaction",'
        ' "filter": {"channel": "call"}, "min": 2}}]}'
    )
    settings.TRAINING_SANDBOX_LESSON_DIRS = [str(tmp_path)]

    lesson = get_lesson("calls")

    assert lesson.steps[0].check["filter"] == {"channel": "call"}
    assert [entry.slug for entry in lessons()][-1] == "calls"


# -- checks -------------------------------------------------------------------


@pytest.fixture
def context(sandbox):
    return CheckContext(
        user=sandbox.owner, workspace=sandbox, started_at=timezone.now() - dt.timedelta(minutes=5)
    )


def test_records_check__rows_by_trainee_since_start__passes(context, sandbox):
    factories.InteractionFactory(workspace=sandbox, author=sandbox.owner)
    check = {
        "type": "records",
        "model": "crmcore.Interaction",
        "user_field": "author",
        "min": 1,
        "since": "lesson_start",
    }

    result = run_check(context, check)

    assert (result.passed, result.found, result.needed, result.missing) == (True, 1, 1, "")


def test_records_check__row_in_production_or_by_someone_else__still_missing(
    context, sandbox, workspace
):
    factories.InteractionFactory(workspace=workspace, author=sandbox.owner)
    factories.InteractionFactory(workspace=sandbox, author=factories.UserFactory())
    check = {
        "type": "records",
        "model": "crmcore.Interaction",
        "user_field": "author",
        "since": "lesson_start",
        "missing": "Log an interaction",
    }

    result = run_check(context, check)

    assert result.passed is False
    assert result.missing == "Log an interaction (found 0 of 1 since you started this lesson)."


def test_records_check__row_before_lesson_start__not_counted(context, sandbox):
    interaction = factories.InteractionFactory(workspace=sandbox, author=sandbox.owner)
    type(interaction).objects.filter(pk=interaction.pk).update(
        created_at=context.started_at - dt.timedelta(seconds=1)
    )

    result = run_check(
        context,
        {"type": "records", "model": "crmcore.Interaction", "since": "lesson_start"},
    )

    assert result.found == 0


def test_records_check__filter_and_exclude__counts_matching_rows(context, sandbox):
    for action, reason in [("dismissed", "wrong"), ("accepted", ""), ("shown", "x")]:
        SuggestionEvent.objects.create(
            workspace=sandbox,
            capability="prediction",
            action=action,
            user=sandbox.owner,
            reason=reason,
        )
    check = {
        "type": "records",
        "model": "ai_features.SuggestionEvent",
        "filter": {"capability": "prediction", "action__in": ["accepted", "dismissed"]},
        "exclude": {"reason": ""},
        "user_field": "user",
        "min": 2,
    }

    result = run_check(context, check)

    assert (result.passed, result.found) == (False, 1)


def test_events_check__payload_match__counts_events(context, sandbox):
    SandboxEvent.objects.create(
        workspace=sandbox, name="deal.stage_changed", payload={"to_stage": "won"}
    )
    SandboxEvent.objects.create(
        workspace=sandbox, name="deal.stage_changed", payload={"to_stage": "lost"}
    )

    result = run_check(
        context, {"type": "events", "event": "deal.stage_changed", "payload": {"to_stage": "won"}}
    )

    assert (result.passed, result.found) == (True, 1)
