"""Training at the moment of need: the dashboard notices of the training sandbox.

When a capability reaches a user in production through the rollout, the
dashboard says so once, with a link to the capability's lesson and the
user's sandbox; "Got it" hides it for good. When a capability's flag covers
the user but requires its lesson, the dashboard says what remains to pass.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from ai_features import gate
from ai_features.registry import registry
from crmcore.extensions import Notice
from training_sandbox import selectors
from training_sandbox.lessons import Lesson, lesson_for_capability


def _remaining(lesson: Lesson, missing: list[dict[str, str]] | None, started: bool) -> str:
    if not started:
        return "you have not started it yet"
    if not missing:
        return "check it once more to record your pass"
    steps = sum(1 for m in missing if m.get("step") != "questions")
    parts = []
    if steps:
        parts.append(f"{steps} of {lesson.step_count} step{'s' if lesson.step_count != 1 else ''}")
    if any(m.get("step") == "questions" for m in missing):
        parts.append("the questions")
    return " and ".join(parts) + " left"


def capability_notices(request: Any) -> list[Notice]:
    """The notices for the signed-in user in production (none inside a sandbox).

    Warm gate checks make no query; a user with nothing to be told costs no
    query either. Otherwise one query for dismissed notices and one for
    lesson progress.
    """
    user = getattr(request, "user", None)
    workspace = getattr(request, "workspace", None)
    if user is None or not user.is_authenticated or workspace is None or workspace.is_sandbox:
        return []
    reached, pending = [], []
    for capability in registry:
        lesson = lesson_for_capability(capability.key)
        if lesson is None:
            continue
        if gate.is_enabled(capability.key, user, workspace):
            reached.append((capability, lesson))
        elif gate.training_pending(capability.key, user, workspace):
            pending.append((capability, lesson))
    if not reached and not pending:
        return []
    dismissed = selectors.notices_dismissed(user=user) if reached else set()
    progress = selectors.lesson_progress_map(user=user, lessons=[lesson for _, lesson in pending])
    notices = []
    fresh = [(c, lesson) for c, lesson in reached if c.key not in dismissed]
    if len(fresh) == 1:
        capability, lesson = fresh[0]
        passed = selectors.lesson_passed(user, capability.key)
        more = (
            "You passed its lesson: you know your way around."
            if passed
            else "Its lesson takes a few minutes, on practice data in your own sandbox."
        )
        notices.append(
            Notice(
                key=f"reached-{capability.key}",
                text=f"{capability.title} is now on for you. {more}",
                link_url=reverse("sandbox:lesson-detail", args=[lesson.slug]),
                link_text="Review the lesson" if passed else "Start the lesson",
                dismiss_url=reverse("sandbox:notice-dismiss", args=[capability.key]),
            )
        )
    elif fresh:
        # Several at once (a new pilot user): one notice, not one per capability.
        titles = [c.title for c, _ in fresh]
        names = ", ".join(titles[:-1]) + f" and {titles[-1]}"
        notices.append(
            Notice(
                key="reached-" + "-".join(c.key for c, _ in fresh),
                text=(
                    f"{names} are now on for you. Each has a short lesson, on practice data "
                    "in your own sandbox."
                ),
                link_url=reverse("sandbox:lesson-list"),
                link_text="See the lessons",
                dismiss_url=reverse(
                    "sandbox:notice-dismiss", args=[",".join(c.key for c, _ in fresh)]
                ),
            )
        )
    for capability, lesson in pending:
        row = progress.get(lesson.slug)
        remaining = _remaining(lesson, row.missing if row else None, row is not None)
        notices.append(
            Notice(
                key=f"training-{capability.key}",
                text=(
                    f"{capability.title} is ready for you once you pass its lesson: {remaining}."
                ),
                link_url=reverse("sandbox:lesson-detail", args=[lesson.slug]),
                link_text="Continue the lesson" if row else "Start the lesson",
            )
        )
    return notices
