"""An admin invites a user from the app; the user sets their password from the email."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from crmcore import factories
from crmcore.models import OutboundRecord

pytestmark = pytest.mark.django_db


def _invite(client, **data):
    return client.post(
        "/users/invite/",
        {"username": "tina", "email": "tina@example.com", "first_name": "Tina", **data},
    )


def test_invite__admin__creates_user_and_emails_a_set_password_link(staff_client, team):
    response = _invite(staff_client, teams=[team.pk])

    assert response.status_code == 302
    tina = get_user_model().objects.get(username="tina")
    assert not tina.has_usable_password()
    assert list(tina.crm_teams.all()) == [team]
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["tina@example.com"]
    assert email.subject == "You are invited to PilotCRM"
    assert "Hello Tina," in email.body and "Your username is tina." in email.body
    assert not OutboundRecord.objects.exists()  # production sends, never records


def test_invite__link__sets_the_password_logs_in_and_works_once(staff_client, client):
    _invite(staff_client)
    link = re.search(r"http://testserver(/invite/\S+/)", mail.outbox[0].body).group(1)
    staff_client.logout()

    page = client.get(link, follow=True)
    assert page.status_code == 200
    assert b"Choose your password" in page.content
    form_url = page.redirect_chain[-1][0]
    done = client.post(
        form_url, {"new_password1": "a-long-pass-2026", "new_password2": "a-long-pass-2026"}
    )

    assert done.status_code == 302 and done.url == "/"
    tina = get_user_model().objects.get(username="tina")
    assert tina.check_password("a-long-pass-2026")
    assert client.get("/").status_code == 200  # logged in
    client.logout()
    again = client.get(link, follow=True)
    assert b"no longer valid" in again.content


def test_invite__trainee_without_team(staff_client):
    response = _invite(staff_client, username="trainee1", email="t1@example.com")
    assert response.status_code == 302
    assert get_user_model().objects.get(username="trainee1").crm_teams.count() == 0


def test_invite__rep__is_refused_with_the_reason(logged_in_client):
    response = _invite(logged_in_client)
    assert response.status_code == 403
    assert b"Only administrators can invite users." in response.content
    assert not get_user_model().objects.filter(username="tina").exists()


def test_invite__taken_username_or_email__400_with_the_field_marked(staff_client, user):
    factories.UserFactory(username="other", email="taken@example.com")
    response = _invite(staff_client, username="REP", email="taken@example.com")
    assert response.status_code == 400
    assert b"A user with this username already exists." in response.content
    assert b"A user with this email already exists." in response.content
    assert not mail.outbox


@pytest.mark.parametrize(
    "data",
    [
        {"username": "bad name!"},
        {"email": "not-an-email"},
        {"teams": ["x"]},
        {"teams": ["999999"]},
        {"username": "u" * 500},
    ],
)
def test_invite__hostile_input__400(staff_client, data):
    assert _invite(staff_client, **data).status_code == 400


def test_invite__team_of_another_workspace__not_a_choice(staff_client, sandbox):
    foreign = factories.TeamFactory(workspace=sandbox, name="Elsewhere")
    assert _invite(staff_client, teams=[foreign.pk]).status_code == 400


def test_invite__page_query_count(staff_client, team, core_only, django_assert_num_queries):
    # session, user, production workspace, teams (choices), the active workspace
    with django_assert_num_queries(5):
        assert staff_client.get("/users/invite/").status_code == 200
