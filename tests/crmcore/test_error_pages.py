"""Error pages never dead-end: the header, the reason in plain words, a way back."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.crmcore.error_urls")]


@pytest.fixture
def failing_client(client, user):
    client.raise_request_exception = False
    client.force_login(user)
    return client


@pytest.mark.parametrize("debug", [False, True])
def test_500__styled_page_with_header_reason_and_way_back(failing_client, settings, debug):
    settings.DEBUG = debug
    response = failing_client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert 'data-testid="error-500"' in html
    assert 'class="site-header"' in html and "Log out" in html
    assert "Something went wrong on our side" in html
    assert 'href="/">Back to the dashboard' in html
    assert "secret internals" not in html and "Traceback" not in html


def test_500__anonymous_gets_the_page_without_the_user_menu(client, settings):
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert "Log out" not in response.content.decode()


def test_500__under_api_is_json(failing_client):
    response = failing_client.get("/api/boom/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Server error."}


def test_500__page_that_cannot_render_falls_back_to_plain_html(failing_client, monkeypatch):
    from crmcore.web import errors

    def broken(name):
        raise RuntimeError("template store down")

    monkeypatch.setattr(errors.loader, "get_template", broken)
    response = failing_client.get("/boom/")
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b"Back to the dashboard" in response.content


@pytest.mark.parametrize("debug", [False, True])
def test_404__unknown_url_is_styled_without_url_patterns(failing_client, settings, debug):
    settings.DEBUG = debug
    response = failing_client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'data-testid="error-404"' in html
    assert "There is nothing at this address" in html
    assert "URLconf" not in html and "contacts/&lt;int:pk&gt;" not in html


@pytest.mark.parametrize("debug", [False, True])
def test_404__missing_object_is_styled(failing_client, settings, debug):
    settings.DEBUG = debug
    response = failing_client.get("/contacts/999999/")
    assert response.status_code == 404
    assert "No such contact" in response.content.decode()
    assert 'class="site-header"' in response.content.decode()


@pytest.mark.parametrize("debug", [False, True])
def test_403__says_why_in_plain_words(failing_client, settings, debug):
    settings.DEBUG = debug
    response = failing_client.get("/forbidden/")
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-testid="error-403"' in html
    assert "Only admins can erase contacts." in html
    assert "Back to the dashboard" in html


def test_debug_error_pages_setting__gives_the_debug_page_to_developers(failing_client, settings):
    settings.DEBUG = True
    settings.DEBUG_ERROR_PAGES = True
    response = failing_client.get("/no/such/page/")
    assert response.status_code == 404
    assert "URLconf" in response.content.decode()
    response = failing_client.get("/boom/")
    assert response.status_code == 500
    assert "secret internals" in response.content.decode()
