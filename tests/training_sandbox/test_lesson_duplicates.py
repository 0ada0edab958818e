"""The "Duplicates: find and merge" lesson: its checks read the merge audit entries
the trainee wrote in their sandbox after starting it."""

from __future__ import annotations

import datetime as dt

import pytest

from crmcore import factories, services_merge
from crmcore.models import AuditEntry
from tests.training_sandbox.lesson_answers import answer_right
from training_sandbox import services
from training_sandbox.lessons import get_lesson

pytestmark = pytest.mark.django_db

LESSON = "crm-duplicates"


@pytest.fixture
def trainee(sandbox):
    return sandbox.owner


def _pair(sandbox, n: int):
    """Two contacts alike in every field but the email (so defaults keep the kept one's)."""
    account = factories.AccountFactory(workspace=sandbox)
    fields = {
        "workspace": sandbox,
        "first_name": "Ada",
        "last_name": f"King{n}",
        "phone": f"555 100 {n:03d}",
        "account": account,
        "region": "EMEA",
        "segment": "SMB",
        "external_id": f"X{n}",
        "attributes": {},
    }
    return (
        factories.ContactFactory(email=f"ada{n}@one.example", **fields),
        factories.ContactFactory(email=f"ada{n}@two.example", **fields),
    )


def _steps_missing(trainee, sandbox) -> list[str]:
    outcome = services.lesson_check(user=trainee, lesson=LESSON, workspace=sandbox)
    return [m["step"] for m in outcome.missing]


def test_lesson__defined_with_two_steps_and_two_questions():
    lesson = get_lesson(LESSON)
    assert [step.key for step in lesson.steps] == ["merge-pair", "keep-other-value"]
    assert len(lesson.questions) == 2
    assert all(q.explanation for q in lesson.questions)


def test_lesson__merges_and_answers__passed(sandbox, trainee):
    services.lesson_start(user=trainee, lesson=LESSON, workspace=sandbox)
    assert _steps_missing(trainee, sandbox) == ["merge-pair", "keep-other-value", "questions"]

    keep, other = _pair(sandbox, 1)
    services_merge.contact_merge(keep=keep, other=other, actor=trainee)
    assert _steps_missing(trainee, sandbox) == ["keep-other-value", "questions"]

    keep, other = _pair(sandbox, 2)
    services_merge.contact_merge(keep=keep, other=other, choices={"email": "other"}, actor=trainee)
    assert _steps_missing(trainee, sandbox) == ["questions"]

    assert answer_right(user=trainee, lesson=LESSON, workspace=sandbox).passed is True


def test_lesson__merge_before_start_or_by_someone_else__not_counted(sandbox, trainee):
    keep, other = _pair(sandbox, 1)
    services_merge.contact_merge(keep=keep, other=other, choices={"email": "other"}, actor=trainee)
    AuditEntry.objects.update(created_at=AuditEntry.objects.get().created_at - dt.timedelta(days=1))
    services.lesson_start(user=trainee, lesson=LESSON, workspace=sandbox)
    keep, other = _pair(sandbox, 2)
    services_merge.contact_merge(
        keep=keep, other=other, choices={"email": "other"}, actor=factories.UserFactory()
    )

    assert _steps_missing(trainee, sandbox) == ["merge-pair", "keep-other-value", "questions"]


def test_lesson_page__links_to_duplicates_and_a_new_sandbox_has_a_pair(client):
    from crmcore.models import Workspace
    from crmcore.selectors_duplicates import contact_duplicate_suggestions

    trainee = factories.UserFactory(username="newcomer")
    services.sandbox_create(user=trainee, contacts=12)
    client.force_login(trainee)
    client.post("/sandbox/enter/")

    html = client.get(f"/sandbox/lessons/{LESSON}/").content.decode()
    assert 'href="/contacts/duplicates/">Go there →</a>' in html
    sandbox = Workspace.objects.get(owner=trainee)
    assert len(contact_duplicate_suggestions(workspace=sandbox)) >= 1
    duplicates = client.get("/contacts/duplicates/").content.decode()
    assert 'data-testid="review-merge"' in duplicates
