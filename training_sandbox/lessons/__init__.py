"""Lessons are data: one JSON file per lesson in ``lessons/data/``.

Each lesson lists steps; each step names a check type from the small registry
in :mod:`training_sandbox.lessons.checks` with its parameters. Adding a lesson
is adding a JSON file (or a directory of them with the
``TRAINING_SANDBOX_LESSON_DIRS`` setting): no new code path.
"""

from training_sandbox.lessons.definitions import (
    Lesson,
    LessonError,
    Question,
    Step,
    get_lesson,
    lesson_for_capability,
    lessons,
)

__all__ = [
    "Lesson",
    "LessonError",
    "Question",
    "Step",
    "get_lesson",
    "lesson_for_capability",
    "lessons",
]
