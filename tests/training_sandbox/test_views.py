"""The sandbox pages: create, enter and leave from the header, lessons, staff progress."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crmcore import factories
from crmcore.models import Contact, Workspace
from crmcore.workspaces import SESSION_KEY
from training_sandbox import services
from training_sandbox.models import LessonProgress

SIZE = 20


@pytest.fixture(autouse=True)
def _small_sandboxes(settings):
    settings.TRAINING_SANDBOX_DEFAULT_CONTACTS = SIZE


def test_header__outside_sandbox__enter_and_lessons_links(logged_in_client):
    html = logged_in_client.get("/").content.decode()

    assert 'href="/sandbox/enter/"' in html
    assert 'href="/sandbox/lessons/"' in html
    assert 'href="/sandbox/leave/"' not in html
    assert 'data-testid="sandbox-banner"' not in html


def test_create__one_click__sandbox_created_entered_with_banner(logged_in_client, user):
    response = logged_in_client.post("/sandbox/create/", {"contacts": SIZE, "seed": ""})

    sandbox = Workspace.objects.get(owner=user, kind="sandbox")
    assert response.status_code == 302
    assert response["Location"] == "/sandbox/lessons/"
    assert logged_in_client.session[SESSION_KEY] == sandbox.pk
    assert sandbox.seed == 42
    assert Contact.objects.in_workspace(sandbox).count() == SIZE
    page = logged_in_client.get("/").content.decode()
    assert 'data-testid="sandbox-banner"' in page
    assert 'href="/sandbox/leave/"' in page
    assert 'href="/sandbox/enter/"' not in page


def test_create__size_not_offered__form_error_no_sandbox(logged_in_client, user):
    response = logged_in_client.post("/sandbox/create/", {"contacts": 99_999})

    assert response.status_code == 200
    assert "contacts" in response.context["form"].errors
    assert not Workspace.objects.filter(owner=user).exists()


def test_home__sandbox__shows_seed(logged_in_client, user):
    services.sandbox_create(user=user, contacts=SIZE, seed=1234)

    response = logged_in_client.get("/sandbox/")

    assert '<dd data-testid="sandbox-seed">1234</dd>' in response.content.decode()


def test_enter_then_leave__post__switches_workspace(logged_in_client, user):
    sandbox = services.sandbox_create(user=user, contacts=SIZE)

    assert logged_in_client.get("/sandbox/enter/").status_code == 200
    logged_in_client.post("/sandbox/enter/")
    entered = logged_in_client.session.get(SESSION_KEY)
    logged_in_client.post("/sandbox/leave/")

    assert entered == sandbox.pk
    assert SESSION_KEY not in logged_in_client.session


def test_enter__get__does_not_enter(logged_in_client, user):
    services.sandbox_create(user=user, contacts=SIZE)

    logged_in_client.get("/sandbox/enter/")

    assert SESSION_KEY not in logged_in_client.session


def test_reset_and_delete__own_sandbox__done(logged_in_client, user):
    sandbox = services.sandbox_create(user=user, contacts=SIZE)
    logged_in_client.post("/sandbox/enter/")
    factories.ContactFactory(workspace=sandbox)

    logged_in_client.post("/sandbox/reset/")
    count_after_reset = Contact.objects.in_workspace(sandbox).count()
    logged_in_client.post("/sandbox/delete/")

    assert count_after_reset == SIZE
    assert not Workspace.objects.filter(pk=sandbox.pk).exists()
    assert SESSION_KEY not in logged_in_client.session


def test_reset__no_sandbox__404(logged_in_client):
    assert logged_in_client.post("/sandbox/reset/").status_code == 404


def test_lesson_detail__check__shows_what_is_missing(logged_in_client, user):
    services.sandbox_create(user=user, contacts=SIZE)
    logged_in_client.post("/sandbox/lessons/crm-basics/start/")

    response = logged_in_client.post("/sandbox/lessons/crm-basics/check/", follow=True)

    html = response.content.decode()
    assert html.count('data-testid="step-missing"') == 2
    assert "Log an interaction on any contact (found 0 of 1" in html


def test_lesson_start__outside_sandbox__enters_it(logged_in_client, user):
    sandbox = services.sandbox_create(user=user, contacts=SIZE)

    logged_in_client.post("/sandbox/lessons/crm-basics/start/")

    assert logged_in_client.session[SESSION_KEY] == sandbox.pk
    assert LessonProgress.objects.get(user=user).lesson == "crm-basics"


def test_lesson_detail__unknown__404(logged_in_client):
    assert logged_in_client.get("/sandbox/lessons/juggling/").status_code == 404


def test_lesson_list__every_lesson_listed(logged_in_client):
    response = logged_in_client.get("/sandbox/lessons/")

    assert [s.lesson.slug for s in response.context["statuses"]] == [
        "crm-basics",
        "crm-duplicates",
        "prediction-basics",
        "prediction-next-needs",
        "prediction-win-forecast",
        "prediction-tasks",
        "personalization-basics",
        "personalization-campaign-send",
        "sentiment-basics",
        "import-mapping",
        "rollout-evidence",
    ]


def test_lesson_list__capability_column__capability_title_or_crm(logged_in_client):
    html = logged_in_client.get("/sandbox/lessons/").content.decode()

    def capability_cell(slug: str) -> str:
        row = html.split(f'data-lesson="{slug}"', 1)[1].split("</tr>", 1)[0]
        return row.split('data-testid="lesson-capability">', 1)[1].split("</td>", 1)[0]

    assert capability_cell("prediction-win-forecast") == "Prediction"
    assert capability_cell("personalization-campaign-send") == "Personalization"
    assert capability_cell("sentiment-basics") == "Sentiment"
    assert capability_cell("import-mapping") == "CRM"


# -- staff --------------------------------------------------------------------


def test_progress__not_staff__403(logged_in_client):
    assert logged_in_client.get("/sandbox/progress/").status_code == 403


def _trainee_with_progress(team, passed: bool):
    trainee = factories.UserFactory()
    team.members.add(trainee)
    sandbox = factories.SandboxWorkspaceFactory(owner=trainee)
    progress = services.lesson_start(user=trainee, lesson="crm-basics", workspace=sandbox)
    if passed:
        LessonProgress.objects.filter(pk=progress.pk).update(passed_at=progress.started_at)
    return trainee


def test_progress__trainees_and_teams__fixed_queries(staff_client, team, django_assert_num_queries):
    _trainee_with_progress(team, passed=True)
    staff_client.get("/sandbox/progress/")  # warms the header's caches
    with CaptureQueriesContext(connection) as one_trainee:
        staff_client.get("/sandbox/progress/")
    _trainee_with_progress(team, passed=False)
    _trainee_with_progress(factories.TeamFactory(name="AMER"), passed=True)

    with django_assert_num_queries(len(one_trainee)):
        response = staff_client.get("/sandbox/progress/")

    overview = response.context["overview"]
    assert [row.cells[0] for row in overview.trainees] == ["passed", "started", "passed"]
    assert {row.team.name: (row.members, row.cells[0]) for row in overview.teams} == {
        "AMER": (1, 1),
        "EMEA Sales": (3, 1),
    }


def test_staff_reset_and_delete__any_sandbox__done(staff_client, user):
    sandbox = services.sandbox_create(user=user, contacts=SIZE)
    factories.ContactFactory(workspace=sandbox)

    staff_client.post(f"/sandbox/progress/{sandbox.pk}/reset/")
    count_after_reset = Contact.objects.in_workspace(sandbox).count()
    staff_client.post(f"/sandbox/progress/{sandbox.pk}/delete/")

    assert count_after_reset == SIZE
    assert not Workspace.objects.filter(pk=sandbox.pk).exists()


def test_staff_reset__not_staff__403(logged_in_client, user):
    sandbox = services.sandbox_create(user=user, contacts=SIZE)

    assert logged_in_client.post(f"/sandbox/progress/{sandbox.pk}/reset/").status_code == 403


def test_staff_reset__production_workspace__404(staff_client, workspace):
    assert staff_client.post(f"/sandbox/progress/{workspace.pk}/reset/").status_code == 404


# -- knowledge checks on the lesson page ----------------------------------------


def test_lesson_detail__questions__listed_with_their_choices(logged_in_client, user):
    services.sandbox_create(user=user, contacts=SIZE)

    html = logged_in_client.get("/sandbox/lessons/crm-basics/").content.decode()

    assert 'data-testid="lesson-questions"' in html
    assert "Where do you record it?" in html
    assert html.count('type="radio" name="where-to-log"') == 3
    assert 'data-testid="question-explanation"' not in html


def test_lesson_answer__wrong_answer__explanation_shown_and_choice_kept(logged_in_client, user):
    services.sandbox_create(user=user, contacts=SIZE)

    response = logged_in_client.post(
        "/sandbox/lessons/crm-basics/answer/",
        {"where-to-log": "1", "sandbox-reach": "1"},
        follow=True,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Not all answers are right yet" in html
    assert html.count('data-testid="question-explanation"') == 1
    assert "An interaction logged on the contact page appears on the timeline" in html
    assert html.count('data-testid="question-right"') == 1
    assert 'name="where-to-log" value="1" checked' in html
    assert LessonProgress.objects.get(user=user).answers == {"where-to-log": 1, "sandbox-reach": 1}


@pytest.mark.parametrize(
    "data", [{"where-to-log": "9"}, {"where-to-log": "x" * 5000}, {"where-to-log": "\x00"}, {}]
)
def test_lesson_answer__hostile_post__message_not_500(logged_in_client, user, data):
    services.sandbox_create(user=user, contacts=SIZE)

    response = logged_in_client.post("/sandbox/lessons/crm-basics/answer/", data, follow=True)

    assert response.status_code in (200, 400)
    assert not LessonProgress.objects.filter(user=user).exclude(answers={}).exists()


def test_lesson_answer__no_sandbox__sent_to_create_one(logged_in_client):
    response = logged_in_client.post("/sandbox/lessons/crm-basics/answer/", {"where-to-log": "0"})

    assert (response.status_code, response["Location"]) == (302, "/sandbox/")


def test_lesson_answer__unknown_lesson__404(logged_in_client):
    assert logged_in_client.post("/sandbox/lessons/juggling/answer/").status_code == 404
