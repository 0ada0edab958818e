"""Fixtures for browser tests: Playwright (sync API) driving Debian's headless Chromium.

Browser tests run against pytest-django's ``live_server`` and so need the
transactional database: mark them ``@pytest.mark.browser`` and
``@pytest.mark.django_db(transaction=True)``. Example::

    @pytest.mark.browser
    @pytest.mark.django_db(transaction=True)
    def test_dashboard__logged_in__shows_header(browser_page, live_server, login):
        factories.UserFactory(username="ada", password="pw-for-tests-only")
        login(browser_page, live_server, "ada", "pw-for-tests-only")
        browser_page.goto(f"{live_server.url}/")
        assert browser_page.locator(".brand").inner_text() == "PilotCRM"

Fixtures:

* ``chromium_browser`` (session): one headless Chromium for the whole run.
  Without ``/usr/bin/chromium`` the tests are skipped with an install hint,
  except in CI (the ``CI`` environment variable is set), where they fail.
* ``browser_page``: a fresh page in a fresh browser context (own cookies),
  closed after the test. Default timeout 10 s.
* ``login``: ``login(page, live_server, username, password)`` signs in
  through the login form and waits for the dashboard; it raises
  ``AssertionError`` when the login is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM
# would refuse to be called from it (the live_server setup, factories).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PAGE_TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def chromium_browser():
    if not CHROMIUM.exists():
        message = "Chromium not installed: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    yield page
    context.close()


@pytest.fixture
def login():
    def sign_in(page, live_server, username: str, password: str) -> None:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("form.stacked-form button[type=submit]")
        page.wait_for_load_state()
        assert page.url == f"{live_server.url}/", f"login as {username!r} refused: {page.url}"

    return sign_in


@pytest.fixture
def log_interaction():
    """Fill the contact page's "log an interaction" form and submit it."""

    def submit(page, *, channel: str, direction: str, subject: str, body: str = "") -> None:
        form = page.locator("[data-testid=interaction-form]")
        form.locator("select[name=channel]").select_option(channel)
        form.locator("select[name=direction]").select_option(direction)
        form.locator("input[name=subject]").fill(subject)
        if body:
            form.locator("textarea[name=body]").fill(body)
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()

    return submit
