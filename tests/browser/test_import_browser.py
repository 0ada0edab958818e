"""Importing a CSV through the mapping screen, in a real browser, wide and narrow."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from crmcore import factories
from crmcore.integrations.models import ImportMapping, ImportRun
from crmcore.models import Contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-only"
TABLE = (
    "Customer ID;Name;E-mail;Signed up;Tenure;Paperless;Contract\n"
    "A-1;Ada;ada@example.com;05/03/2022;12 months;Yes;Month-to-month\n"
    "A-2;Bob;bob@example.com;2021-11-30;3 months;No;One year\n"
    "A-3;Zoë;not-an-email;2020-02-01;40 months;yes;Month-to-month\n"
)
SHOTS = Path("/tmp/shots/importer")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize("width", [1366, 390])
def test_import__mapping_screen__preview_dry_run_then_import(
    browser_page, live_server, login, tmp_path, width
):
    factories.UserFactory(username="rep", password=PASSWORD)
    csv_file = tmp_path / "billing export.csv"
    csv_file.write_bytes(TABLE.encode("cp1252"))
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    login(page, live_server, "rep", PASSWORD)

    # Upload without a mapping: the mapping screen suggests a field per column
    page.goto(f"{live_server.url}/integrations/import/")
    page.select_option("#id_kind", "contacts")
    page.set_input_files("#id_file", str(csv_file))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("import-format")).to_contain_text(
        "Read as Windows-1252, semicolon-separated (detected)"
    )
    expect(page.locator("#id_col_2")).to_have_value("email")
    expect(page.locator("#id_col_4")).to_have_value("attributes")
    expect(page.get_by_test_id("import-map-table")).to_contain_text("looks like number (months)")

    # Set a type and a unit, preview the rows as they would be stored
    page.select_option("#id_type_4", "number")
    page.fill("#id_unit_4", "months")
    page.select_option("#id_col_6", "")
    page.get_by_role("button", name="Preview").click()
    rows = page.get_by_test_id("import-preview-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("attributes.Tenure 12")
    expect(rows.nth(0)).to_contain_text("attributes.Signed up 2022-03-05")
    expect(rows.nth(2)).to_contain_text("rejected: invalid email 'not-an-email'")
    page.screenshot(path=str(SHOTS / f"mapping-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    # A dry run reports the bad row and writes nothing
    page.get_by_role("button", name="Dry run").click()
    expect(page.locator("body")).to_contain_text("invalid email")
    assert Contact.objects.count() == 0
    page.screenshot(path=str(SHOTS / f"dry-run-{width}.png"), full_page=True)

    # Back to the same mapping screen: import, saving the mapping by name
    page.go_back()
    page.fill("#id_save_as", f"Billing export {width}")
    page.select_option("#id_type_4", "number")
    page.fill("#id_unit_4", "months")
    page.select_option("#id_col_6", "")
    page.get_by_role("button", name="Import").click()
    expect(page.locator("body")).to_contain_text("Import #")
    run = ImportRun.objects.filter(dry_run=False).get()
    assert (run.created, run.rejected) == (2, 1)
    assert Contact.objects.get(external_id="A-1").attributes["Tenure"] == "12"
    assert ImportMapping.objects.get(name=f"Billing export {width}").mapping["units"] == {
        "attributes.Tenure": "months"
    }
