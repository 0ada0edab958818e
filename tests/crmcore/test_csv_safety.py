"""Every CSV the application writes is safe to open in a spreadsheet (OWASP rule)."""

from __future__ import annotations

import csv
import io

import pytest

from crmcore import factories
from crmcore.csv_safety import csv_writer, safe_cell
from crmcore.integrations.models import ImportRowError, ImportRun

# One hostile text per character a spreadsheet may read as the start of a formula.
HOSTILE = {
    "=": '=HYPERLINK("http://evil.example","x")',
    "+": "+1+cmd|' /C calc'!A0",
    "-": "-2+cmd|' /C calc'!A0",
    "@": "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t": "\t=1+1",
    "\r": "\r=1+1",
}


def write(rows) -> list[list[str]]:
    buffer = io.StringIO()
    csv_writer(buffer).writerows(rows)
    return list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))


@pytest.mark.parametrize("char", list(HOSTILE))
def test_safe_cell__text_starting_with_formula_character__prefixed_with_a_quote(char):
    assert safe_cell(HOSTILE[char]) == "'" + HOSTILE[char]


@pytest.mark.parametrize("value", ["plain", "a=b", "", " =1", "'=already", 42, -5, 1.5, None])
def test_safe_cell__anything_else__unchanged(value):
    assert safe_cell(value) == value


def test_csv_writer__hostile_cells__written_as_text_others_unchanged():
    rows = write([["name", *HOSTILE.values()], [-3, "ok"]])

    assert rows == [["name", *("'" + v for v in HOSTILE.values())], ["-3", "ok"]]


@pytest.mark.parametrize("char", list(HOSTILE))
def test_export_csv__hostile_contact_fields__neutralised(char, api_client, workspace, core_only):
    factories.ContactFactory(
        workspace=workspace,
        first_name=HOSTILE[char],
        last_name="Doe",
        email="x@example.com",
        phone="",
        segment=HOSTILE[char],
    )

    response = api_client.get("/api/v1/exports/contacts.csv")

    text = b"".join(response.streaming_content).decode()
    row = next(csv.DictReader(io.StringIO(text, newline="")))
    assert (row["first_name"], row["segment"], row["last_name"]) == (
        "'" + HOSTILE[char],
        "'" + HOSTILE[char],
        "Doe",
    )


@pytest.fixture
def run_with_hostile_errors(workspace):
    run = ImportRun.objects.create(workspace=workspace, kind="contacts", file_name="x.csv")
    ImportRowError.objects.bulk_create(
        ImportRowError(run=run, line=line, reason=reason)
        for line, reason in enumerate(HOSTILE.values(), start=2)
    )
    return run


def test_import_error_report_api__hostile_reasons__neutralised(api_client, run_with_hostile_errors):
    response = api_client.get(f"/api/v1/imports/{run_with_hostile_errors.pk}/errors/")

    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1:] == [[str(n), "'" + v] for n, v in enumerate(HOSTILE.values(), start=2)]


def test_import_error_report_page__hostile_reasons__neutralised(
    logged_in_client, run_with_hostile_errors
):
    response = logged_in_client.get(f"/integrations/import/{run_with_hostile_errors.pk}/errors.csv")

    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1:] == [[str(n), "'" + v] for n, v in enumerate(HOSTILE.values(), start=2)]


def test_import_command_error_file__hostile_reasons__neutralised(run_with_hostile_errors, tmp_path):
    from crmcore.management.commands.import_csv import Command

    target = tmp_path / "errors.csv"
    Command()._write_errors(run_with_hostile_errors, str(target))

    rows = list(csv.reader(target.open(encoding="utf-8", newline="")))
    assert rows[1:] == [[str(n), "'" + v] for n, v in enumerate(HOSTILE.values(), start=2)]
