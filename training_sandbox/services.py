"""Writes of the training sandbox: create, reset and delete sandboxes; lessons; events.

A sandbox is built by the deterministic generator
(``training_sandbox.generator``) from its seed, so a reset (clear, then
regenerate with the same seed and size) gives back exactly the seeded data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from ai_features.tasks import prepare_workspace_task
from crmcore.events import Event
from crmcore.models import Workspace
from training_sandbox import generator
from training_sandbox.conf import app_settings
from training_sandbox.lessons import Lesson, get_lesson
from training_sandbox.lessons.checks import CheckContext, CheckResult, run_check
from training_sandbox.models import CapabilityNotice, LessonProgress, Sandbox, SandboxEvent
from training_sandbox.selectors import passed_cache_key

# -- sandboxes ----------------------------------------------------------------


def _validate_size(contacts: int) -> None:
    maximum = app_settings.MAX_CONTACTS
    if not 1 <= contacts <= maximum:
        raise ValidationError({"contacts": f"Choose between 1 and {maximum:,} contacts."})


@transaction.atomic
def sandbox_create(
    *,
    user: User,
    contacts: int | None = None,
    seed: int | None = None,
    progress: Any = None,
) -> Workspace:
    """Create ``user``'s sandbox and fill it with generated data.

    ``contacts`` and ``seed`` default to the settings (``DEFAULT_CONTACTS``,
    ``DEFAULT_SEED``). A user has at most one sandbox: a ValidationError when
    it exists already.
    """
    contacts = app_settings.DEFAULT_CONTACTS if contacts is None else contacts
    seed = app_settings.DEFAULT_SEED if seed is None else seed
    _validate_size(contacts)
    if Workspace.objects.filter(kind=Workspace.Kind.SANDBOX, owner_id=user.pk).exists():
        raise ValidationError(f"{user.get_username()} already has a sandbox.")
    workspace = Workspace.objects.create(
        name=f"Sandbox of {user.get_username()}",
        kind=Workspace.Kind.SANDBOX,
        owner=user,
        seed=seed,
    )
    started = time.perf_counter()
    generator.generate_workspace_data(
        workspace=workspace, contacts=contacts, seed=seed, progress=progress
    )
    Sandbox.objects.create(
        workspace=workspace,
        contacts=contacts,
        generation_seconds=round(time.perf_counter() - started, 3),
    )
    _prepare_ai_queue(workspace)
    return workspace


def _prepare_ai_queue(workspace: Workspace) -> None:
    """Analyse, train and score the sandbox in the background once its data is committed."""
    if not app_settings.PREPARE_AI:
        return
    workspace_id = workspace.pk
    transaction.on_commit(lambda: prepare_workspace_task.delay(workspace_id))


def _cascade_models(*, include_crmcore: bool) -> list[type[models.Model]]:
    """Models whose rows belong to a workspace and go with it (``workspace`` FK, CASCADE).

    ``Sandbox`` (the sandbox's own settings) is kept by a reset.
    """
    found = []
    for model in apps.get_models():
        if model is Sandbox or (model._meta.app_label == "crmcore" and not include_crmcore):
            continue
        for f in model._meta.concrete_fields:
            if (
                f.many_to_one
                and f.related_model is Workspace
                and getattr(f.remote_field, "on_delete", None) is models.CASCADE
            ):
                found.append(model)
                break
    return found


def _clear(workspace: Workspace) -> None:
    """Remove every row of the workspace but the workspace and its settings.

    Rows of the other apps first (they may point at CRM rows), then the CRM
    data in bulk by the generator, then whatever else is left.
    """
    for model in _cascade_models(include_crmcore=False):
        model._base_manager.filter(workspace_id=workspace.pk).delete()
    generator.clear_workspace_data(workspace=workspace)
    for model in _cascade_models(include_crmcore=True):
        model._base_manager.filter(workspace_id=workspace.pk).delete()


def _restart_open_lessons(workspace: Workspace) -> None:
    """Lessons in progress start again: the work they counted was in the old data."""
    if workspace.owner_id is None:
        return
    LessonProgress.objects.filter(user_id=workspace.owner_id, passed_at__isnull=True).update(
        started_at=timezone.now(), checked_at=None, missing=[]
    )


@transaction.atomic
def sandbox_reset(*, workspace: Workspace, progress: Any = None) -> Workspace:
    """Restore a sandbox to its seeded state: clear it, regenerate with the same seed and size."""
    if not workspace.is_sandbox:
        raise ValidationError("Only a sandbox can be reset.")
    settings_row = Sandbox.objects.filter(workspace_id=workspace.pk).first()
    contacts = settings_row.contacts if settings_row else app_settings.DEFAULT_CONTACTS
    started = time.perf_counter()
    _clear(workspace)
    generator.generate_workspace_data(
        workspace=workspace, contacts=contacts, seed=workspace.seed or 0, progress=progress
    )
    Sandbox.objects.update_or_create(
        workspace=workspace,
        defaults={
            "contacts": contacts,
            "reset_at": timezone.now(),
            "generation_seconds": round(time.perf_counter() - started, 3),
        },
    )
    _restart_open_lessons(workspace)
    _prepare_ai_queue(workspace)
    return workspace


@transaction.atomic
def sandbox_delete(*, workspace: Workspace) -> None:
    """Delete a sandbox and every row in it. Lesson progress stays with the trainee."""
    if not workspace.is_sandbox:
        raise ValidationError("Only a sandbox can be deleted.")
    _clear(workspace)
    workspace.delete()


# -- lessons ------------------------------------------------------------------


@dataclass(frozen=True)
class StepOutcome:
    key: str
    title: str
    result: CheckResult


#: The ``step`` key under which an unfinished knowledge check is listed as missing.
QUESTIONS_STEP = "questions"


@dataclass(frozen=True)
class LessonCheckOutcome:
    lesson: str
    steps: list[StepOutcome]
    progress: LessonProgress
    #: What the knowledge check still lacks ("" when done or when there is none).
    questions_missing: str = ""

    @property
    def passed(self) -> bool:
        return all(step.result.passed for step in self.steps) and not self.questions_missing

    @property
    def missing(self) -> list[dict[str, str]]:
        """``[{"step": key, "missing": sentence}]`` for every step not done yet."""
        missing = [
            {"step": step.key, "missing": step.result.missing}
            for step in self.steps
            if not step.result.passed
        ]
        if self.questions_missing:
            missing.append({"step": QUESTIONS_STEP, "missing": self.questions_missing})
        return missing


def _questions_missing(definition: Lesson, answers: dict[str, Any]) -> str:
    """The sentence saying what the knowledge check lacks, or "" when every answer is right."""
    if not definition.questions:
        return ""
    right = sum(1 for q in definition.questions if q.is_right(answers.get(q.key)))
    total = len(definition.questions)
    if right == total:
        return ""
    return (
        f"Answer the questions at the end of the lesson: {right} of {total} answered right so far."
    )


def _lesson_or_error(slug: str) -> Lesson:
    lesson = get_lesson(slug)
    if lesson is None:
        raise ValidationError({"lesson": f"No lesson {slug!r}."})
    return lesson


def _sandbox_of(user: User, workspace: Workspace) -> None:
    if not (workspace.is_sandbox and workspace.owner_id == user.pk):
        raise ValidationError("Lessons are done in your own sandbox.")


@transaction.atomic
def lesson_start(*, user: User, lesson: str, workspace: Workspace) -> LessonProgress:
    """Start (or restart) a lesson in the user's sandbox: checks count work from now on.

    Restarting a passed lesson keeps it passed.
    """
    _lesson_or_error(lesson)
    _sandbox_of(user, workspace)
    progress, _ = LessonProgress.objects.update_or_create(
        user=user,
        lesson=lesson,
        defaults={
            "workspace": workspace,
            "started_at": timezone.now(),
            "checked_at": None,
            "missing": [],
        },
    )
    return progress


@transaction.atomic
def lesson_check(*, user: User, lesson: str, workspace: Workspace) -> LessonCheckOutcome:
    """Run every step's check against the sandbox; record what is missing, or the pass.

    A lesson not started yet starts now (so its checks count nothing done before).
    """
    definition = _lesson_or_error(lesson)
    _sandbox_of(user, workspace)
    progress = LessonProgress.objects.select_for_update().filter(user=user, lesson=lesson).first()
    if progress is None:
        progress = lesson_start(user=user, lesson=lesson, workspace=workspace)
    context = CheckContext(user=user, workspace=workspace, started_at=progress.started_at)
    steps = [
        StepOutcome(key=step.key, title=step.title, result=run_check(context, step.check))
        for step in definition.steps
    ]
    outcome = LessonCheckOutcome(
        lesson=lesson,
        steps=steps,
        progress=progress,
        questions_missing=_questions_missing(definition, progress.answers or {}),
    )
    progress.checked_at = timezone.now()
    progress.missing = outcome.missing
    progress.workspace = workspace
    if outcome.passed and progress.passed_at is None:
        progress.passed_at = progress.checked_at
    progress.save(update_fields=["checked_at", "missing", "workspace", "passed_at"])
    if progress.passed_at is not None:
        transaction.on_commit(lambda: cache.set(passed_cache_key(user.pk, lesson), True, None))
    return outcome


@transaction.atomic
def lesson_answer(
    *, user: User, lesson: str, workspace: Workspace, answers: dict[str, Any]
) -> LessonCheckOutcome:
    """Record the trainee's answers to the lesson's questions, then check the lesson.

    ``answers`` maps question keys to the index of the chosen answer (as sent
    by the form: strings of digits are accepted). Questions left out keep
    their earlier answer. Anything else is a ``ValidationError`` and nothing
    is recorded.
    """
    definition = _lesson_or_error(lesson)
    _sandbox_of(user, workspace)
    chosen: dict[str, int] = {}
    for key, raw in answers.items():
        question = definition.question(key)
        if question is None:
            raise ValidationError({"answers": f"The lesson has no question {key!r}."})
        try:
            index = int(str(raw))
        except ValueError:
            raise ValidationError({key: "Pick one of the answers."}) from None
        if not 0 <= index < len(question.choices):
            raise ValidationError({key: "Pick one of the answers."})
        chosen[key] = index
    if not chosen:
        raise ValidationError({"answers": "Pick an answer to at least one question."})
    progress = LessonProgress.objects.select_for_update().filter(user=user, lesson=lesson).first()
    if progress is None:
        progress = lesson_start(user=user, lesson=lesson, workspace=workspace)
    progress.answers = {**(progress.answers or {}), **chosen}
    progress.save(update_fields=["answers"])
    return lesson_check(user=user, lesson=lesson, workspace=workspace)


def notice_dismiss(*, user: User, capability: str) -> None:
    """Hide the "now on for you" notice of ``capability`` for ``user`` for good (idempotent)."""
    if not user.is_authenticated:
        raise ValidationError("Sign in first.")
    CapabilityNotice.objects.get_or_create(user=user, capability=capability[:50])


# -- events -------------------------------------------------------------------
#
# Outbound effects (emails, webhooks) are crmcore's: ``crmcore.outbound`` records
# what a sandbox would have sent (``crmcore.OutboundRecord``), for every sender.


def sandbox_event_listener(event: Event) -> None:
    """The crmcore events listener: keeps every event that happened in a sandbox."""
    sandbox_event_record(event=event)


def sandbox_event_record(*, event: Event) -> SandboxEvent | None:
    """Keep a domain event that happened in a sandbox (what lessons check besides rows)."""
    if not event.is_sandbox:
        return None
    return SandboxEvent.objects.create(
        workspace_id=event.workspace_id, name=event.name, payload=event.payload
    )
