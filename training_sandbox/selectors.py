"""Reads of the training sandbox: sandboxes, lesson progress, would-have-sent records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.core.cache import cache
from django.db.models import Count

from crmcore.models import Campaign, Contact, Deal, Interaction, OutboundRecord, Team, Workspace
from training_sandbox.lessons import Lesson, lesson_for_capability, lessons
from training_sandbox.models import CapabilityNotice, LessonProgress

PASSED_CACHE_KEY = "training_sandbox:passed:{user_id}:{lesson}"
#: Passed lessons are cached until the progress row changes (see signals).
PASSED_CACHE_TIMEOUT = None


def passed_cache_key(user_id: Any, lesson: str) -> str:
    return PASSED_CACHE_KEY.format(user_id=user_id, lesson=lesson)


# -- sandboxes ----------------------------------------------------------------


def sandbox_for(*, user: User | AnonymousUser | None) -> Workspace | None:
    """The user's sandbox workspace (with its settings), or ``None``."""
    if user is None or not user.is_authenticated:
        return None
    return (
        Workspace.objects.filter(kind=Workspace.Kind.SANDBOX, owner_id=user.pk)
        .select_related("sandbox_settings")
        .first()
    )


def sandbox_get(*, pk: int) -> Workspace | None:
    return (
        Workspace.objects.filter(kind=Workspace.Kind.SANDBOX, pk=pk)
        .select_related("owner", "sandbox_settings")
        .first()
    )


def sandbox_contact_counts(*, workspace_ids: Iterable[int]) -> dict[int, int]:
    rows = (
        Contact.objects.filter(workspace_id__in=list(workspace_ids))
        .order_by()
        .values_list("workspace_id")
        .annotate(n=Count("id"))
    )
    return dict(rows)


# -- lessons and progress -----------------------------------------------------


@dataclass(frozen=True)
class LessonStatus:
    lesson: Lesson
    progress: LessonProgress | None

    @property
    def started(self) -> bool:
        return self.progress is not None

    @property
    def passed(self) -> bool:
        return self.progress is not None and self.progress.passed


def lesson_statuses(*, user: User) -> list[LessonStatus]:
    """Every lesson with the user's progress on it (one query)."""
    progress = {p.lesson: p for p in LessonProgress.objects.filter(user_id=user.pk)}
    return [LessonStatus(lesson=lesson, progress=progress.get(lesson.slug)) for lesson in lessons()]


def lesson_progress_get(*, user: User, lesson: str) -> LessonProgress | None:
    return LessonProgress.objects.filter(user_id=user.pk, lesson=lesson).first()


def lesson_progress_map(*, user: User, lessons: Iterable[Lesson]) -> dict[str, LessonProgress]:
    """The user's progress rows on ``lessons``, by slug (one query; none for no lessons)."""
    slugs = [lesson.slug for lesson in lessons]
    if not slugs:
        return {}
    return {p.lesson: p for p in LessonProgress.objects.filter(user_id=user.pk, lesson__in=slugs)}


def notices_dismissed(*, user: User) -> set[str]:
    """Keys of the capabilities whose "now on for you" notice the user dismissed."""
    return set(
        CapabilityNotice.objects.filter(user_id=user.pk).values_list("capability", flat=True)
    )


def lesson_passed(user: AbstractBaseUser | AnonymousUser | None, capability_key: str) -> bool:
    """Has ``user`` passed the lesson of the capability? (the gate's training provider)

    Cached per user and lesson; a warm answer makes no query.
    """
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return False
    lesson = lesson_for_capability(capability_key)
    if lesson is None:
        return False
    key = passed_cache_key(user.pk, lesson.slug)
    answer = cache.get(key)
    if answer is None:
        answer = LessonProgress.objects.filter(
            user_id=user.pk, lesson=lesson.slug, passed_at__isnull=False
        ).exists()
        cache.set(key, answer, PASSED_CACHE_TIMEOUT)
    return bool(answer)


def passed_share(users: Iterable[Any], capability_key: str) -> float | None:
    """Share (0..1) of ``users`` (users or ids) who passed the capability's lesson; one query.

    ``None`` when there are no users or the capability has no lesson.
    """
    ids = {getattr(u, "pk", u) for u in users}
    lesson = lesson_for_capability(capability_key)
    if not ids or lesson is None:
        return None
    passed = LessonProgress.objects.filter(
        user_id__in=ids, lesson=lesson.slug, passed_at__isnull=False
    ).count()
    return round(passed / len(ids), 4)


@dataclass(frozen=True)
class TraineeRow:
    user: Any
    sandbox: Workspace | None
    contact_count: int
    passed: dict[str, bool]
    started: dict[str, bool]

    @property
    def passed_count(self) -> int:
        return sum(self.passed.values())

    @property
    def cells(self) -> list[str]:
        """Per lesson, in order: "passed", "started" or ""."""
        return [
            "passed" if self.passed[slug] else "started" if self.started[slug] else ""
            for slug in self.passed
        ]


@dataclass(frozen=True)
class TeamRow:
    team: Team
    members: int
    passed: dict[str, int] = field(default_factory=dict)

    def share(self, lesson: str) -> float:
        return self.passed.get(lesson, 0) / self.members if self.members else 0.0

    @property
    def cells(self) -> list[int]:
        """Members who passed each lesson, in order."""
        return list(self.passed.values())


@dataclass(frozen=True)
class ProgressOverview:
    lessons: list[Lesson]
    trainees: list[TraineeRow]
    teams: list[TeamRow]


def progress_overview() -> ProgressOverview:
    """Progress per trainee (anyone with a sandbox or a started lesson) and per team.

    Five queries whatever the number of trainees, teams and lessons.
    """
    all_lessons = lessons()
    progress = list(LessonProgress.objects.order_by())
    sandboxes = {
        ws.owner_id: ws
        for ws in Workspace.objects.filter(kind=Workspace.Kind.SANDBOX).select_related(
            "sandbox_settings"
        )
    }
    trainee_ids = {p.user_id for p in progress} | set(sandboxes)
    users = get_user_model().objects.filter(pk__in=trainee_ids).order_by("username")
    counts = sandbox_contact_counts(workspace_ids=[ws.pk for ws in sandboxes.values()])
    by_user: dict[int, dict[str, LessonProgress]] = {}
    for p in progress:
        by_user.setdefault(p.user_id, {})[p.lesson] = p
    trainees = []
    for user in users:
        mine = by_user.get(user.pk, {})
        sandbox = sandboxes.get(user.pk)
        trainees.append(
            TraineeRow(
                user=user,
                sandbox=sandbox,
                contact_count=counts.get(sandbox.pk, 0) if sandbox else 0,
                passed={
                    lesson.slug: lesson.slug in mine and mine[lesson.slug].passed
                    for lesson in all_lessons
                },
                started={lesson.slug: lesson.slug in mine for lesson in all_lessons},
            )
        )
    passed_by_user = {(p.user_id, p.lesson) for p in progress if p.passed_at is not None}
    teams = []
    team_qs = (
        Team.objects.filter(workspace__kind=Workspace.Kind.PRODUCTION)
        .prefetch_related("members")
        .order_by("name")
    )
    for team in team_qs:
        member_ids = [m.pk for m in team.members.all()]
        teams.append(
            TeamRow(
                team=team,
                members=len(member_ids),
                passed={
                    lesson.slug: sum((uid, lesson.slug) in passed_by_user for uid in member_ids)
                    for lesson in all_lessons
                },
            )
        )
    return ProgressOverview(lessons=all_lessons, trainees=trainees, teams=teams)


# -- outbound -----------------------------------------------------------------


@dataclass(frozen=True)
class WouldHaveSent:
    kind: str
    recipient: str
    subject: str
    body: str
    source: str
    created_at: Any


def would_have_sent(*, workspace: Workspace, limit: int = 200) -> list[WouldHaveSent]:
    """What the sandbox would have sent: the emails and webhooks ``crmcore.outbound``
    recorded instead of sending, newest first. One query.
    """
    return [
        WouldHaveSent(
            kind=r.get_kind_display(),
            recipient=r.recipient,
            subject=r.subject,
            body=r.body,
            source=r.source,
            created_at=r.created_at,
        )
        for r in OutboundRecord.objects.in_workspace(workspace)[:limit]
    ]


def sandbox_summary(*, workspace: Workspace) -> dict[str, int]:
    """Row counts of the sandbox (contacts, deals, interactions, campaigns)."""
    return {
        "contacts": Contact.objects.in_workspace(workspace).count(),
        "deals": Deal.objects.in_workspace(workspace).count(),
        "interactions": Interaction.objects.in_workspace(workspace).count(),
        "campaigns": Campaign.objects.in_workspace(workspace).count(),
    }
