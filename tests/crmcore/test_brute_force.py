"""Password guessing: login lockout per username and per address, API throttles (429)."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crmcore import factories

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-only"
LOCKOUT_SECONDS = "900"  # LOGIN_LOCKOUT_MINUTES = 15


def login(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def obtain_token(username: str, password: str, address: str = "10.0.0.1"):
    return APIClient().post(
        "/api/v1/auth/token/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


# --------------------------------------------------------------------------- login page


def test_login__four_wrong_passwords__right_one_still_works(client, user):
    for _ in range(4):
        assert login(client, "rep", "wrong").status_code == 200

    response = login(client, "rep", PASSWORD)

    assert response.status_code == 302
    assert is_logged_in(client)


def test_login__five_wrong_passwords__right_one_refused_with_429(client, user):
    for _ in range(4):
        login(client, "rep", "wrong")
    fifth = login(client, "rep", "wrong")

    response = login(client, "rep", PASSWORD)

    assert (fifth.status_code, response.status_code) == (429, 429)
    assert response["Retry-After"] == LOCKOUT_SECONDS
    assert "Too many failed logins" in response.content.decode()
    assert not is_logged_in(client)


def test_login__wrong_passwords_for_one_username_from_many_addresses__username_locked(client, user):
    for n in range(5):
        login(client, "rep", "wrong", address=f"10.0.1.{n}")

    response = login(client, "rep", PASSWORD, address="10.0.2.1")

    assert response.status_code == 429
    assert not is_logged_in(client)


def test_login__many_usernames_from_one_address__address_locked(client, user):
    for n in range(5):
        login(client, f"guess{n}", "wrong", address="10.0.3.1")

    locked = login(client, "rep", PASSWORD, address="10.0.3.1")
    elsewhere = login(client, "rep", PASSWORD, address="10.0.3.2")

    assert (locked.status_code, elsewhere.status_code) == (429, 302)


def test_login__success_resets_the_count(client, user):
    for _ in range(4):
        login(client, "rep", "wrong")
    login(client, "rep", PASSWORD)
    client.logout()
    for _ in range(4):
        login(client, "rep", "wrong")

    assert login(client, "rep", PASSWORD).status_code == 302


def test_login__lockout_setting__limit_and_duration_follow_it(client, user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=1)
    login(client, "rep", "wrong")
    login(client, "rep", "wrong")

    response = login(client, "rep", PASSWORD)

    assert (response.status_code, response["Retry-After"]) == (429, "60")


# --------------------------------------------------------------------------- token endpoint


def test_token__five_wrong_passwords__right_one_refused_with_429(user):
    statuses = [obtain_token("rep", "wrong").status_code for _ in range(5)]

    response = obtain_token("rep", PASSWORD)

    assert statuses == [400, 400, 400, 400, 429]
    assert response.status_code == 429
    assert response["Retry-After"] == LOCKOUT_SECONDS
    assert response.json() == {
        "detail": "Too many failed logins for this account or address. "
        "Expected available in 900 seconds."
    }
    assert not Token.objects.exists()


def test_token__wrong_passwords_from_many_addresses__username_locked(user):
    for n in range(5):
        obtain_token("rep", "wrong", address=f"10.0.4.{n}")

    assert obtain_token("rep", PASSWORD, address="10.0.5.1").status_code == 429


def test_token__rate_per_address__429_with_retry_after(user, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "auth": "3/minute"}
    statuses = [obtain_token("rep", PASSWORD).status_code for _ in range(3)]

    response = obtain_token("rep", PASSWORD)
    other_address = obtain_token("rep", PASSWORD, address="10.0.6.1")

    assert statuses == [200, 200, 200]
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert other_address.status_code == 200


# --------------------------------------------------------------------------- API throttles


def test_api__user_rate__429_with_retry_after_other_users_unaffected(
    api_client, workspace, settings
):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "user": "2/minute"}
    other = APIClient()
    other.force_authenticate(factories.UserFactory(username="other"))

    statuses = [api_client.get("/api/v1/contacts/").status_code for _ in range(3)]
    response = api_client.get("/api/v1/contacts/")

    assert statuses == [200, 200, 429]
    assert 1 <= int(response["Retry-After"]) <= 60
    assert other.get("/api/v1/contacts/").status_code == 200


def test_token__rate_per_address__forged_forwarded_for_does_not_reset_it(user, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "auth": "2/minute"}
    client = APIClient()

    statuses = [
        client.post(
            "/api/v1/auth/token/",
            {"username": "rep", "password": PASSWORD},
            REMOTE_ADDR="10.0.7.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        ).status_code
        for n in range(3)
    ]

    assert statuses == [200, 200, 429]
