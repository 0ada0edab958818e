"""A rep's day and an admin's day in a real browser, at 1366 and 390 px wide."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from crmcore import factories, services
from crmcore.models import AuditEntry, Contact, Deal, Task
from crmcore.workspaces import production_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"
WIDTHS = [1366, 390]


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def page_at(request, chromium_browser):
    context = chromium_browser.new_context(
        viewport={"width": request.param, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.width = request.param
    yield page
    context.close()


def _nav(page, label: str) -> None:
    """Follow a header link, opening the narrow-screen menu first."""
    toggle = page.locator("[data-testid=nav-toggle]")
    if toggle.is_visible():
        toggle.click()
    page.locator("nav.main-nav").get_by_role("link", name=label, exact=True).click()
    page.wait_for_load_state()


def test_reps_day__tasks_edit_a_deal_bulk_assign(page_at, live_server, login):
    page = page_at
    workspace = production_workspace()
    rep = factories.UserFactory(username="rita", first_name="Rita", password=PASSWORD)
    colleague = factories.UserFactory(username="colin", first_name="Colin")
    factories.TeamFactory(workspace=workspace, name="EMEA Sales", members=[rep, colleague])
    ada = factories.ContactFactory(
        workspace=workspace, first_name="Ada", last_name="Lovelace", owner=rep
    )
    grace = factories.ContactFactory(
        workspace=workspace, first_name="Grace", last_name="Hopper", owner=rep
    )
    deal = factories.DealFactory(workspace=workspace, contact=ada, owner=rep, name="Engines")
    services.task_create(
        workspace=workspace,
        owner=rep,
        title="Send the quote",
        due_date=timezone.localdate() - dt.timedelta(days=1),
        contact=ada,
    )
    login(page, live_server, "rita", PASSWORD)

    # The overdue task is on the dashboard; tick it off
    overdue = page.locator("[data-testid=tasks-overdue]")
    expect(overdue).to_contain_text("Send the quote")
    overdue.get_by_role("button", name="Mark “Send the quote” done").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("“Send the quote” done.")
    assert Task.objects.get().done

    # A new task from the contact page's action bar
    page.goto(f"{live_server.url}/contacts/{ada.pk}/")
    page.locator("[data-testid=contact-new-task]").click()
    page.fill("input[name=title]", "Call Ada about the renewal")
    page.locator("[data-testid=task-form] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/contacts/{ada.pk}/"
    assert Task.objects.filter(title="Call Ada about the renewal", contact=ada).exists()

    # Edit the deal: every field on one form
    page.goto(f"{live_server.url}/deals/{deal.pk}/")
    page.locator("[data-testid=deal-edit]").click()
    page.fill("input[name=name]", "Analytical Engines")
    page.fill("input[name=amount]", "42000")
    page.select_option("select[name=stage]", "negotiation")
    page.locator("[data-testid=deal-form] button[type=submit]").click()
    page.wait_for_load_state()
    deal.refresh_from_db()
    assert (deal.name, deal.amount, deal.stage) == ("Analytical Engines", 42000, "negotiation")

    # Bulk: give both contacts to a colleague
    _nav(page, "Contacts")
    for contact in (ada, grace):
        page.get_by_label(f"Select {contact.full_name}").check()
    page.select_option("#bulk-action", "assign_owner")
    page.select_option("#bulk-owner", str(colleague.pk))
    page.locator("[data-testid=bulk-apply]").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("2 contacts now with owner Colin")
    assert set(Contact.objects.values_list("owner_id", flat=True)) == {colleague.pk}
    assert page.evaluate("document.documentElement.scrollWidth") <= page.width


def test_admins_day__invite_a_trainee_export_then_erase(page_at, live_server, login):
    page = page_at
    workspace = production_workspace()
    factories.StaffUserFactory(username="ada_admin", password=PASSWORD)
    person = factories.ContactFactory(
        workspace=workspace, first_name="Erin", last_name="Erased", email="erin@example.com"
    )
    factories.InteractionFactory(workspace=workspace, contact=person, subject="Please forget me")
    login(page, live_server, "ada_admin", PASSWORD)

    # Invite a trainee
    toggle = page.locator("[data-testid=nav-toggle]")
    if toggle.is_visible():
        toggle.click()
    page.get_by_role("link", name="Invite", exact=True).click()
    page.fill("input[name=username]", "trainee1")
    page.fill("input[name=email]", "trainee1@example.com")
    page.fill("input[name=first_name]", "Tara")
    page.locator("[data-testid=invite-form] button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("Invitation sent to trainee1@example.com")
    assert "/invite/" in mail.outbox[0].body

    # Export the person's data, then erase them
    page.goto(f"{live_server.url}/contacts/{person.pk}/")
    with page.expect_download() as download_info:
        page.locator("[data-testid=contact-personal-data]").click()
    data = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    assert data["contact"]["email"] == "erin@example.com"
    assert data["related"]["crmcore.Interaction"][0]["subject"] == "Please forget me"

    page.locator("[data-testid=contact-erase]").click()
    expect(page.locator("[data-testid=delete-impact]")).to_contain_text("1 interaction")
    page.locator("[data-testid=erase-confirm] button[type=submit]").click()
    page.wait_for_load_state()
    assert not Contact.objects.filter(pk=person.pk).exists()
    entry = AuditEntry.objects.get(action="erase")
    assert "Erin" not in entry.summary
    assert Deal.objects.count() == 0
