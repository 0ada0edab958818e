"""Training at the moment of need: the dashboard tells a user when a capability reached
them (once), and what remains of the lesson a training-required flag waits for."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from waffle.testutils import override_switch

from ai_features import gate
from ai_features.capabilities.prediction.models import ContactScore, DealScore
from crmcore.models import Contact, Workspace
from training_sandbox.lessons import get_lesson
from training_sandbox.models import CapabilityNotice, LessonProgress
from training_sandbox.notices import capability_notices

SIZE = 200  # at 100 the win model passed its quality gate on some days only (too few closed deals)


def _notices(client) -> list[tuple[str, str]]:
    response = client.get("/")
    assert response.status_code == 200
    return [(n.key, n.text) for n in response.context["notices"]]


@pytest.fixture
def training_flag(enable_capability, user):
    flag = enable_capability("prediction", users=[user])
    flag.requires_training = True
    flag.save()
    flag.flush()
    return flag


def test_dashboard__capability_reached_user__notice_links_to_lesson_until_dismissed(
    logged_in_client, enable_capability, user
):
    enable_capability("prediction", users=[user])

    page = logged_in_client.get("/").content.decode()
    dismissed = logged_in_client.post("/sandbox/notices/prediction/dismiss/")
    after = _notices(logged_in_client)

    assert (
        "Prediction is now on for you. Its lesson takes a few minutes, on practice data "
        "in your own sandbox." in page
    )
    assert 'href="/sandbox/lessons/prediction-basics/">Start the lesson</a>' in page
    assert (dismissed.status_code, dismissed["Location"]) == (302, "/")
    assert after == []
    assert CapabilityNotice.objects.filter(user=user, capability="prediction").count() == 1


def test_dashboard__lesson_already_passed__notice_says_so(
    logged_in_client, enable_capability, user
):
    enable_capability("sentiment", users=[user])
    LessonProgress.objects.create(
        user=user,
        lesson="sentiment-basics",
        started_at="2026-01-01T00:00Z",
        passed_at="2026-01-02T00:00Z",
    )

    assert _notices(logged_in_client) == [
        (
            "reached-sentiment",
            "Sentiment is now on for you. You passed its lesson: you know your way around.",
        )
    ]


def _ask(user, workspace):
    return capability_notices(SimpleNamespace(user=user, workspace=workspace))


def test_notices__nothing_on__none_and_no_query_when_warm(
    user, workspace, django_assert_num_queries
):
    _ask(user, workspace)  # warm the gate's cache

    with django_assert_num_queries(0):
        assert _ask(user, workspace) == []


def test_notices__capabilities_reached__one_query_when_warm(
    user, workspace, enable_capability, django_assert_num_queries
):
    enable_capability("prediction", users=[user])
    enable_capability("sentiment", users=[user])
    _ask(user, workspace)

    # the dismissed notices; lesson progress is not asked (nothing requires training)
    with django_assert_num_queries(1):
        assert len(_ask(user, workspace)) == 1


def test_dashboard__kill_switch__no_notice(logged_in_client, enable_capability, user):
    enable_capability("prediction", users=[user])

    with override_switch("ai_kill_switch", active=True):
        assert _notices(logged_in_client) == []


def test_dashboard__inside_sandbox__no_notice(client, enable_capability, sandbox):
    enable_capability("prediction", everyone=True)
    client.force_login(sandbox.owner)
    client.post("/sandbox/enter/")

    assert _notices(client) == []


def test_dashboard__several_reached_at_once__one_notice_dismissing_all(
    logged_in_client, enable_capability, user
):
    enable_capability("prediction", users=[user])
    enable_capability("sentiment", users=[user])

    notices = logged_in_client.get("/").context["notices"]
    dismissed = logged_in_client.post(notices[0].dismiss_url)

    assert [(n.text, n.link_url) for n in notices] == [
        (
            "Prediction and Sentiment are now on for you. Each has a short lesson, on practice "
            "data in your own sandbox.",
            "/sandbox/lessons/",
        )
    ]
    assert dismissed.status_code == 302
    assert _notices(logged_in_client) == []
    assert set(CapabilityNotice.objects.values_list("capability", flat=True)) == {
        "prediction",
        "sentiment",
    }


def test_notice_dismiss__unknown_capability__404(logged_in_client):
    assert logged_in_client.post("/sandbox/notices/telepathy/dismiss/").status_code == 404
    assert logged_in_client.post("/sandbox/notices/prediction,x/dismiss/").status_code == 404
    assert logged_in_client.post(f"/sandbox/notices/{'a,' * 3000}/dismiss/").status_code == 404
    assert logged_in_client.get("/sandbox/notices/prediction/dismiss/").status_code == 405


def test_notice_dismiss__signed_out__to_login(client):
    response = client.post("/sandbox/notices/prediction/dismiss/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_dashboard__training_required__says_what_remains(
    logged_in_client, training_flag, user, sandbox
):
    before = _notices(logged_in_client)
    LessonProgress.objects.create(
        user=user,
        lesson="prediction-basics",
        started_at="2026-01-01T00:00Z",
        checked_at="2026-01-01T01:00Z",
        missing=[
            {"step": "act-with-reason", "missing": "..."},
            {"step": "read-deal-chance", "missing": "..."},
            {"step": "work-a-deal", "missing": "..."},
            {"step": "questions", "missing": "..."},
        ],
    )
    during = _notices(logged_in_client)

    assert before == [
        (
            "training-prediction",
            "Prediction is ready for you once you pass its lesson: you have not started it yet.",
        )
    ]
    assert during == [
        (
            "training-prediction",
            "Prediction is ready for you once you pass its lesson: "
            "3 of 4 steps and the questions left.",
        )
    ]


def test_training_required__end_to_end_through_the_pages(
    logged_in_client, training_flag, user, workspace, settings, django_capture_on_commit_callbacks
):
    """A pilot user without the lesson does not get prediction; after passing it through
    the pages (their own sandbox, the contact page, the lesson's questions), they do."""
    settings.TRAINING_SANDBOX_DEFAULT_CONTACTS = SIZE
    client = logged_in_client
    production_contact = Contact.objects.in_workspace(workspace).create(
        workspace=workspace, first_name="Real", last_name="Customer", email="real@example.com"
    )
    assert gate.is_enabled("prediction", user, workspace) is False
    before = client.get(f"/contacts/{production_contact.pk}/").content.decode()
    assert 'data-testid="prediction-panel"' not in before

    # The sandbox, made from its page, is prepared: customers are scored
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/sandbox/create/", {"contacts": SIZE, "seed": ""}).status_code == 302
    sandbox = Workspace.objects.get(owner=user, kind="sandbox")
    client.post("/sandbox/lessons/prediction-basics/start/")
    scored = ContactScore.objects.filter(workspace=sandbox).order_by("-probability").first()

    # Step 1: read a customer's Prediction panel; step 2: dismiss the action with a reason
    with django_capture_on_commit_callbacks(execute=True):  # "shown" is written after commit
        page = client.get(f"/contacts/{scored.contact_id}/").content.decode()
    assert 'data-testid="churn-risk"' in page
    feedback = client.post(
        f"/ai/prediction/contacts/{scored.contact_id}/feedback/",
        {"kind": "action", "item": "call", "action": "dismissed", "reason": "Renewed last week"},
    )
    assert feedback.status_code in (200, 302)

    # Steps 3 and 4: read an open deal's chance to win; move an open deal on
    deal = DealScore.objects.filter(workspace=sandbox).first().deal
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(f"/deals/{deal.pk}/").status_code == 200
    next_stage = {"lead": "qualified", "qualified": "proposal", "proposal": "negotiation"}
    moved = client.post(f"/deals/{deal.pk}/stage/", {"stage": next_stage.get(deal.stage, "won")})
    assert moved.status_code in (200, 302)

    # The knowledge check, answered right, passes the lesson
    lesson = get_lesson("prediction-basics")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/sandbox/lessons/prediction-basics/answer/",
            {q.key: str(q.answer) for q in lesson.questions},
        )
    progress = LessonProgress.objects.get(user=user, lesson="prediction-basics")
    assert progress.passed, progress.missing

    # Back in production, prediction is on for the pilot user, and the dashboard says so
    client.post("/sandbox/leave/")
    assert gate.is_enabled("prediction", user, workspace) is True
    after = client.get(f"/contacts/{production_contact.pk}/").content.decode()
    assert 'data-testid="prediction-panel"' in after
    assert _notices(client) == [
        (
            "reached-prediction",
            "Prediction is now on for you. You passed its lesson: you know your way around.",
        )
    ]
