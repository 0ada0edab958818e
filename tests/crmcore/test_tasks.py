"""Tasks: by hand, from a timeline entry, My tasks, the daily digest, the API."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from crmcore import factories, services
from crmcore.models import OutboundRecord, Task
from crmcore.tasks import task_digest

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return timezone.localdate()


def _task(workspace, owner, title, due, **kwargs):
    return services.task_create(
        workspace=workspace, owner=owner, title=title, due_date=due, **kwargs
    )


def test_my_tasks__overdue_today_upcoming_on_the_page_and_dashboard(
    logged_in_client, workspace, user, today
):
    contact = factories.ContactFactory(workspace=workspace, first_name="Ada", last_name="L")
    _task(workspace, user, "Send the quote", today - dt.timedelta(days=2), contact=contact)
    _task(workspace, user, "Call back", today)
    _task(workspace, user, "Renewal prep", today + dt.timedelta(days=5))
    done = _task(workspace, user, "Already done", today)
    services.task_set_done(task=done)
    _task(workspace, factories.UserFactory(username="other"), "Not mine", today)

    for url in (reverse("task-list"), reverse("dashboard")):
        html = logged_in_client.get(url).content.decode()
        overdue = html.split('data-testid="tasks-overdue"')[1].split("</ul>")[0]
        today_ = html.split('data-testid="tasks-today"')[1].split("</ul>")[0]
        upcoming = html.split('data-testid="tasks-upcoming"')[1].split("</ul>")[0]
        assert "Send the quote" in overdue and "Ada L" in overdue
        assert "Call back" in today_
        assert "Renewal prep" in upcoming
        assert "Already done" not in html and "Not mine" not in html


def test_task_create__by_hand_and_tick_off(logged_in_client, workspace, user, today):
    response = logged_in_client.post(
        reverse("task-create"), {"title": "Prepare demo", "due_date": today.isoformat()}
    )
    assert response.status_code == 302
    task = Task.objects.get()
    assert (task.owner, task.source, task.done) == (user, "manual", False)
    logged_in_client.post(reverse("task-done", args=[task.pk]))
    task.refresh_from_db()
    assert task.done and task.done_at is not None


def test_task_create__from_a_timeline_entry(logged_in_client, workspace, user, today):
    contact = factories.ContactFactory(workspace=workspace, owner=user)
    interaction = factories.InteractionFactory(
        workspace=workspace, contact=contact, subject="Asked for pricing"
    )
    page = logged_in_client.get(reverse("contact-detail", args=[contact.pk]))
    assert f"/tasks/new/?interaction={interaction.pk}" in page.content.decode()
    form = logged_in_client.get(reverse("task-create"), {"interaction": interaction.pk})
    assert b'value="Follow up: Asked for pricing"' in form.content
    logged_in_client.post(
        reverse("task-create"),
        {
            "title": "Follow up: Asked for pricing",
            "due_date": today.isoformat(),
            "interaction": interaction.pk,
            "next": f"/contacts/{contact.pk}/",
        },
    )
    task = Task.objects.get()
    assert (task.contact, task.interaction, task.source) == (contact, interaction, "timeline")


def test_task_done__someone_elses__403(logged_in_client, workspace, today):
    task = _task(workspace, factories.UserFactory(username="other"), "Theirs", today)
    response = logged_in_client.post(reverse("task-done", args=[task.pk]))
    assert response.status_code == 403
    assert b"Only the person the task is for can tick it off." in response.content


@pytest.mark.parametrize(
    "data",
    [
        {"title": "", "due_date": "2026-01-01"},
        {"title": "x", "due_date": "not a date"},
        {"title": "x", "due_date": "2026-01-01", "contact": "abc"},
        {"title": "x", "due_date": "2026-01-01", "contact": "999999"},
        {"title": "x" * 300, "due_date": "2026-01-01"},
    ],
)
def test_task_create__hostile_input__400(logged_in_client, data):
    assert logged_in_client.post(reverse("task-create"), data).status_code == 400
    assert not Task.objects.exists()


def test_task_create__foreign_contact__400(logged_in_client, sandbox):
    foreign = factories.ContactFactory(workspace=sandbox)
    response = logged_in_client.post(
        reverse("task-create"), {"title": "x", "due_date": "2026-01-01", "contact": foreign.pk}
    )
    assert response.status_code == 400


def test_task_form__hostile_query__404(logged_in_client):
    assert logged_in_client.get(reverse("task-create"), {"contact": "x"}).status_code == 404
    assert logged_in_client.get(reverse("task-create"), {"interaction": "99999"}).status_code == 404


def test_task_list__query_count(
    logged_in_client, workspace, user, today, core_only, django_assert_num_queries
):
    for n in range(5):
        _task(
            workspace,
            user,
            f"T{n}",
            today + dt.timedelta(days=n - 2),
            contact=factories.ContactFactory(workspace=workspace),
        )
    # session, user, workspace, the tasks with their contacts and deals
    with django_assert_num_queries(4):
        assert logged_in_client.get(reverse("task-list")).status_code == 200


# The daily digest -------------------------------------------------------------


def test_digest__one_email_per_rep_with_due_and_overdue(workspace, today):
    ada = factories.UserFactory(username="ada", first_name="Ada", email="ada@example.com")
    contact = factories.ContactFactory(workspace=workspace, first_name="Grace", last_name="Hopper")
    _task(workspace, ada, "Call Grace", today, contact=contact)
    _task(workspace, ada, "Send the contract", today - dt.timedelta(days=3))
    _task(workspace, ada, "Later", today + dt.timedelta(days=3))

    assert task_digest() == 1

    email = mail.outbox[0]
    assert email.to == ["ada@example.com"]
    assert email.subject == "Your tasks: 1 due today and 1 overdue"
    assert "Hello Ada," in email.body
    assert "Due today:\n- Call Grace (Grace Hopper)" in email.body
    assert "Overdue:\n- Send the contract, due " in email.body
    assert "Later" not in email.body


def test_digest__sandbox_records_instead_of_sending(sandbox, today):
    trainee = sandbox.owner
    trainee.email = "trainee@example.com"
    trainee.save()
    _task(sandbox, trainee, "Practise a call", today)
    assert task_digest() == 1
    assert not mail.outbox
    record = OutboundRecord.objects.get()
    assert (record.workspace, record.recipient, record.source) == (
        sandbox,
        "trainee@example.com",
        "task-digest",
    )


def test_digest__scheduled_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["crmcore-task-digest"]
    assert entry["task"] == "crmcore.task_digest"
    assert entry["schedule"].hour == {7}


# API ------------------------------------------------------------------------------


def test_api_tasks__own_only_create_and_tick(api_client, workspace, user, today):
    other = factories.UserFactory(username="other")
    _task(workspace, other, "Theirs", today)
    contact = factories.ContactFactory(workspace=workspace)
    created = api_client.post(
        "/api/v1/tasks/",
        {"title": "Call", "due_date": today.isoformat(), "contact": contact.pk},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["owner"] == user.pk and created.json()["source"] == "manual"
    listed = api_client.get("/api/v1/tasks/").json()["results"]
    assert [t["title"] for t in listed] == ["Call"]
    patched = api_client.patch(f"/api/v1/tasks/{listed[0]['id']}/", {"done": True}, format="json")
    assert patched.status_code == 200 and patched.json()["done"] is True


def test_api_tasks__hostile_input__400(api_client, sandbox):
    foreign = factories.ContactFactory(workspace=sandbox)
    for body in (
        {"title": "x"},
        {"title": "x", "due_date": "nope"},
        {"title": "x", "due_date": "2026-01-01", "contact": foreign.pk},
    ):
        assert api_client.post("/api/v1/tasks/", body, format="json").status_code == 400
