"""Lesson definitions: frozen dataclasses loaded and validated from JSON.

A lesson file looks like::

    {
      "slug": "crm-basics",
      "title": "CRM basics",
      "capability": null,
      "order": 10,
      "summary": "...",
      "steps": [
        {"key": "log-interaction", "title": "Log an interaction",
         "instructions": "...",
         "check": {"type": "records", "model": "crmcore.Interaction",
                   "filter": {}, "user_field": "author", "min": 1,
                   "since": "lesson_start"}}
      ],
      "questions": [
        {"key": "why-log", "text": "Why log a call on the contact?",
         "choices": ["...", "..."], "answer": 1,
         "explanation": "Shown after a wrong answer: why the right one is right."}
      ]
    }

``questions`` is optional: a short knowledge check at the end of the lesson.
Each question has two or more ``choices``, the index of the right one in
``answer`` and an ``explanation`` shown when the trainee picks a wrong one. A
lesson with questions passes when every step is done and every question is
answered right.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ai_features.registry import registry
from training_sandbox.conf import app_settings
from training_sandbox.lessons.checks import LessonError, validate_check

__all__ = ["Lesson", "LessonError", "Step", "get_lesson", "lesson_for_capability", "lessons"]

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    instructions: str
    check: dict[str, Any] = field(default_factory=dict)
    hint_url: str = ""


@dataclass(frozen=True)
class Question:
    """One question of a lesson's knowledge check (``answer`` indexes ``choices``)."""

    key: str
    text: str
    choices: tuple[str, ...]
    answer: int
    explanation: str

    def is_right(self, chosen: Any) -> bool:
        return chosen == self.answer


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: str
    summary: str
    steps: tuple[Step, ...]
    capability: str | None = None
    order: int = 100
    questions: tuple[Question, ...] = ()

    @property
    def step_count(self) -> int:
        return len(self.steps)

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)

    @property
    def capability_title(self) -> str:
        """The title of the capability taught ("Prediction"); empty for a CRM lesson."""
        if self.capability and self.capability in registry:
            return registry.get(self.capability).title
        return ""


def _require(data: dict, key: str, where: str) -> Any:
    value = data.get(key)
    if value in (None, "", [], {}):
        raise LessonError(f"{where}: {key!r} is required")
    return value


def lesson_from_dict(data: dict[str, Any], *, source: str = "lesson") -> Lesson:
    """Build and validate a lesson (each step's check against the check registry)."""
    slug = _require(data, "slug", source)
    where = f"lesson {slug!r}"
    steps = []
    keys = set()
    for index, raw in enumerate(_require(data, "steps", where), start=1):
        step_where = f"{where} step {index}"
        key = _require(raw, "key", step_where)
        if key in keys:
            raise LessonError(f"{step_where}: duplicate key {key!r}")
        keys.add(key)
        check = dict(_require(raw, "check", step_where))
        try:
            validate_check(check)
        except LessonError as exc:
            raise LessonError(f"{step_where}: {exc}") from None
        steps.append(
            Step(
                key=key,
                title=_require(raw, "title", step_where),
                instructions=_require(raw, "instructions", step_where),
                check=check,
                hint_url=raw.get("hint_url", ""),
            )
        )
    return Lesson(
        questions=_questions(data.get("questions") or [], where),
        slug=slug,
        title=_require(data, "title", where),
        summary=data.get("summary", ""),
        steps=tuple(steps),
        capability=data.get("capability"),
        order=int(data.get("order", 100)),
    )


def _questions(raw_questions: Any, where: str) -> tuple[Question, ...]:
    if not isinstance(raw_questions, list):
        raise LessonError(f"{where}: 'questions' must be a list")
    questions = []
    keys: set[str] = set()
    for index, raw in enumerate(raw_questions, start=1):
        q_where = f"{where} question {index}"
        if not isinstance(raw, dict):
            raise LessonError(f"{q_where}: must be an object")
        key = _require(raw, "key", q_where)
        if key in keys:
            raise LessonError(f"{q_where}: duplicate key {key!r}")
        keys.add(key)
        choices = _require(raw, "choices", q_where)
        if (
            not isinstance(choices, list)
            or len(choices) < 2
            or not all(isinstance(c, str) and c.strip() for c in choices)
        ):
            raise LessonError(f"{q_where}: 'choices' must list two or more answers")
        answer = raw.get("answer")
        if (
            not isinstance(answer, int)
            or isinstance(answer, bool)
            or not 0 <= answer < len(choices)
        ):
            last = len(choices) - 1
            raise LessonError(
                f"{q_where}: 'answer' must be the index of the right choice (0 to {last})"
            )
        questions.append(
            Question(
                key=key,
                text=_require(raw, "text", q_where),
                choices=tuple(choices),
                answer=answer,
                explanation=_require(raw, "explanation", q_where),
            )
        )
    return tuple(questions)


def lesson_dirs() -> list[Path]:
    extra = app_settings.LESSON_DIRS
    return [DATA_DIR, *(Path(p) for p in extra)]


@cache
def _load(dirs: tuple[Path, ...]) -> dict[str, Lesson]:
    found: dict[str, Lesson] = {}
    for directory in dirs:
        for path in sorted(directory.glob("*.json")):
            lesson = lesson_from_dict(json.loads(path.read_text()), source=str(path))
            if lesson.slug in found:
                raise LessonError(f"{path}: lesson {lesson.slug!r} is defined twice")
            found[lesson.slug] = lesson
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


def lessons() -> list[Lesson]:
    """Every lesson, in teaching order."""
    return list(_load(tuple(lesson_dirs())).values())


def get_lesson(slug: str) -> Lesson | None:
    return _load(tuple(lesson_dirs())).get(slug)


def lesson_for_capability(capability_key: str) -> Lesson | None:
    """The lesson teaching a capability (its ``lesson`` slug in the AI registry)."""
    if capability_key not in registry:
        return None
    slug = registry.get(capability_key).lesson
    return get_lesson(slug) if slug else None
