"""Duplicates in a real browser, at 1366 and 390 px: from the contact list to a merged contact."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from crmcore import factories
from crmcore.models import AuditEntry, Contact
from crmcore.workspaces import production_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"
WIDTHS = [1366, 390]


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def page_at(request, chromium_browser):
    context = chromium_browser.new_context(viewport={"width": request.param, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_find_and_merge_a_duplicate__merged_contact_has_both_histories(page_at, live_server, login):
    page = page_at
    workspace = production_workspace()
    rep = factories.UserFactory(username="rita", first_name="Rita", password=PASSWORD)
    acme = factories.AccountFactory(workspace=workspace, name="Acme Tools")
    jon = factories.ContactFactory(
        workspace=workspace,
        first_name="Jon",
        last_name="Smith",
        email="jon@acme.example",
        phone="+1 555 010 0200",
        account=acme,
        owner=rep,
    )
    john = factories.ContactFactory(
        workspace=workspace,
        first_name="John",
        last_name="Smith",
        email="john.smith@acme.example",
        phone="(555) 010-0200",
        account=acme,
        owner=rep,
    )
    factories.InteractionFactory(workspace=workspace, contact=jon, subject="Call about pricing")
    factories.InteractionFactory(workspace=workspace, contact=john, subject="Demo follow-up")
    login(page, live_server, "rita", PASSWORD)

    # From the contact list to the suggested pair
    page.goto(f"{live_server.url}/contacts/")
    page.locator("[data-testid=find-duplicates]").click()
    page.wait_for_load_state()
    pair = page.locator("[data-testid=duplicate-pair]")
    expect(pair).to_have_count(1)
    expect(pair).to_contain_text("Same phone")
    expect(pair).to_contain_text("Similar name at Acme Tools")
    pair.locator("[data-testid=review-merge]").click()
    page.wait_for_load_state()

    # Side by side: keep Jon, but take John's email
    form = page.locator("[data-testid=merge-form]")
    expect(form.locator("input[name=email][value=keep]")).to_be_checked()
    form.locator("label.merge-option", has_text="john.smith@acme.example").click()
    expect(form.locator("input[name=email][value=other]")).to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    form.locator("[data-testid=merge-submit]").click()
    page.wait_for_load_state()
    expect(page.locator("[data-testid=form-errors]")).to_contain_text("Please correct")
    page.locator("[data-testid=merge-confirm]").check()
    page.locator("[data-testid=merge-submit]").click()
    page.wait_for_load_state()

    # The merged contact, with both contacts' interactions
    assert page.url == f"{live_server.url}/contacts/{jon.pk}/"
    expect(page.locator(".messages")).to_contain_text(
        f"Merged “John Smith” (#{john.pk}) into “Jon Smith” (#{jon.pk}). "
        f"Taken from #{john.pk}: email. Moved to it: 1 interaction."
    )
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Call about pricing")
    expect(timeline).to_contain_text("Demo follow-up")
    expect(page.locator(".profile")).to_contain_text("john.smith@acme.example")
    assert list(Contact.objects.values_list("pk", flat=True)) == [jon.pk]
    assert AuditEntry.objects.get().details["fields"]["email"] == john.pk


AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")


@pytest.mark.parametrize("width", WIDTHS)
def test_duplicates_and_merge_pages__no_serious_or_critical_violations(
    chromium_browser, live_server, login, width
):
    workspace = production_workspace()
    rep = factories.UserFactory(username="rita", password=PASSWORD)
    acme = factories.AccountFactory(workspace=workspace, name="Acme Tools")
    a, b = (
        factories.ContactFactory(
            workspace=workspace, first_name="Ada", last_name=last, account=acme, owner=rep
        )
        for last in ("King", "Kingg")
    )
    # The script is injected by the test, not served: the context bypasses the CSP for it.
    context = chromium_browser.new_context(
        viewport={"width": width, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    try:
        login(page, live_server, "rita", PASSWORD)
        found = {}
        for path in ["/contacts/duplicates/", f"/contacts/{a.pk}/merge/{b.pk}/"]:
            page.goto(f"{live_server.url}{path}")
            page.add_script_tag(content=AXE)
            results = page.evaluate("async () => await axe.run(document)")
            found[path] = [
                f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
                for v in results["violations"]
                if v["impact"] in ("serious", "critical")
            ]
        assert found == {"/contacts/duplicates/": [], f"/contacts/{a.pk}/merge/{b.pk}/": []}
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()


def test_duplicates_lesson__trainee_through_the_pages__passes(browser_page, live_server, login):
    from training_sandbox import services as sandbox_services
    from training_sandbox.lessons import get_lesson

    page = browser_page
    slug = "crm-duplicates"
    trainee = factories.UserFactory(username="tess", password=PASSWORD)
    sandbox = sandbox_services.sandbox_create(user=trainee, contacts=30)
    login(page, live_server, "tess", PASSWORD)
    page.goto(f"{live_server.url}/sandbox/")
    page.click("[data-testid=enter-sandbox]")
    page.wait_for_load_state()

    # Start: nothing done yet
    page.goto(f"{live_server.url}/sandbox/lessons/{slug}/")
    page.click("[data-testid=lesson-start]")
    page.click("[data-testid=lesson-check]")
    expect(page.locator("[data-testid=step-missing]")).to_have_count(2)

    # The lesson's link, a planted pair (the generated contacts belong to demo reps), a merge
    page.get_by_role("link", name="Go there →").first.click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/contacts/duplicates/"
    page.locator("[data-testid=review-merge]").first.click()
    page.wait_for_load_state()
    page.locator("[data-field=email] label.merge-option").nth(1).click()
    page.locator("[data-testid=merge-confirm]").check()
    page.locator("[data-testid=merge-submit]").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("Taken from #")

    # Check, answer, passed
    page.goto(f"{live_server.url}/sandbox/lessons/{slug}/")
    page.click("[data-testid=lesson-check]")
    expect(page.locator("[data-testid=step-done]")).to_have_count(2)
    for question in get_lesson(slug).questions:
        page.check(f"fieldset[data-question={question.key}] input[value='{question.answer}']")
    page.click("[data-testid=lesson-answer]")
    expect(page.locator("[data-testid=lesson-status]")).to_contain_text("Passed")
    entry = AuditEntry.objects.get(workspace=sandbox, action="merge")
    assert entry.actor == trainee
