"""CSV import: the command, the engine, cleaning, idempotence and bad input."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from crmcore import factories
from crmcore.integrations import cleaning, importer, services
from crmcore.integrations.models import ImportMapping, ImportRowError, ImportRun
from crmcore.models import Account, Contact, Interaction, Order

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SAMPLE = FIXTURES / "sample_contacts_messy.csv"
SAMPLE_MAPPING = FIXTURES / "sample_contacts_mapping.json"

SAMPLE_ERRORS = [
    (4, "invalid email 'grace@example'"),
    (5, "missing required field first_name"),
    (8, "duplicate of line 2 (same external_id)"),
    (9, "duplicate of line 3 (same email)"),
    (10, "invalid email 'donald@@example.com'"),
    (13, "invalid date '2024-13-01' for signup_date"),
    (16, "missing email or external_id"),
    (17, "invalid lifecycle_stage 'VIP' (expected one of lead, customer, churned)"),
    (23, "duplicate of line 20 (same external_id)"),
    (24, "invalid email 'leslie@example'"),
    (26, "missing required field first_name"),
    (27, "invalid date '30/02/2024' for signup_date"),
    (30, "has 11 columns, the header has 10"),
]


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("import_csv", *args, stdout=out, verbosity=0)
    return out.getvalue()


def import_sample(*extra: str) -> str:
    return run_command("contacts", str(SAMPLE), "--mapping", str(SAMPLE_MAPPING), *extra)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def write_mapping(tmp_path: Path, mapping: dict, name: str = "mapping.json") -> Path:
    return write(tmp_path, name, json.dumps(mapping))


# The messy sample -------------------------------------------------------------


def test_import_csv__messy_sample__exact_counts_and_error_report(workspace):
    output = import_sample()

    run = ImportRun.objects.get()
    assert (run.created, run.updated, run.unchanged, run.rejected) == (17, 0, 0, 13)
    assert (run.total_rows, run.processed_rows, run.status) == (30, 30, ImportRun.Status.DONE)
    assert [(e.line, e.reason) for e in run.row_errors.all()] == SAMPLE_ERRORS
    printed = [f"line {line}: {reason}" for line, reason in SAMPLE_ERRORS]
    assert output.splitlines() == [
        *printed,
        f"created 17, updated 0, unchanged 0, rejected 13 (30 rows, import run #{run.pk})",
    ]
    assert Contact.objects.in_workspace(workspace).count() == 17


def test_import_csv__messy_sample__values_are_cleaned(workspace):
    import_sample()

    ada = Contact.objects.get(external_id="C-001")
    assert (ada.email, ada.phone, ada.lifecycle_stage, ada.region) == (
        "ada@example.com",
        "+442079460018",
        "customer",
        "EMEA",
    )
    assert ada.attributes == {
        "signup_date": "2024-03-12",
        "Plan": "Pro",
        "Favourite Colour": "Blue",
    }
    alan = Contact.objects.get(external_id="C-002")
    assert (alan.phone, alan.lifecycle_stage, alan.attributes["signup_date"]) == (
        "+442079460019",
        "lead",
        "2024-03-12",
    )
    katherine = Contact.objects.get(external_id="C-005")
    assert (katherine.phone, katherine.attributes["signup_date"]) == (
        "+12025550147",
        "2024-03-25",
    )
    radia = Contact.objects.get(external_id="C-011")
    assert (radia.first_name, radia.last_name, radia.attributes["signup_date"]) == (
        "Radia",
        "Perlman",
        "2024-02-29",
    )
    dates = dict(
        Contact.objects.filter(external_id__in=["C-006", "C-008", "C-009", "C-014", "C-015"])
        .order_by("external_id")
        .values_list("external_id", "attributes__signup_date")
    )
    assert dates == {
        "C-006": "2024-03-12",
        "C-008": "2024-03-05",
        "C-009": "2023-12-31",
        "C-014": "2024-08-07",
        "C-015": "2024-01-15",
    }
    mccarthy = Contact.objects.get(external_id="C-012")
    assert mccarthy.email == ""


def test_import_csv__same_file_twice__second_run_changes_nothing(workspace):
    import_sample()
    before = {c.pk: c.updated_at for c in Contact.objects.all()}

    output = import_sample()

    run = ImportRun.objects.order_by("-id").first()
    assert (run.created, run.updated, run.unchanged, run.rejected) == (0, 0, 17, 13)
    assert output.splitlines()[-1].startswith("created 0, updated 0, unchanged 17, rejected 13")
    assert {c.pk: c.updated_at for c in Contact.objects.all()} == before


def test_import_csv__existing_records__matched_by_external_id_then_email(workspace, sandbox):
    # Given: C-020 known by its external id with an old last name, Tim known by email only,
    # and a sandbox contact with Ada's external id (another workspace: never matched).
    barbara = factories.ContactFactory(
        workspace=workspace, external_id="C-020", first_name="Barbara", last_name="Old", email=""
    )
    tim = factories.ContactFactory(
        workspace=workspace, external_id="", first_name="Tim", email="tim@example.com"
    )
    factories.ContactFactory(workspace=sandbox, external_id="C-001", email="ada@example.com")

    import_sample()

    run = ImportRun.objects.get()
    assert (run.created, run.updated, run.unchanged, run.rejected) == (15, 2, 0, 13)
    barbara.refresh_from_db()
    tim.refresh_from_db()
    assert (barbara.last_name, barbara.email) == ("Liskov", "barbara@example.com")
    assert (tim.external_id, tim.last_name) == ("C-009", "Berners-Lee")
    assert Contact.objects.in_workspace(sandbox).count() == 1


def test_import_csv__dry_run__writes_nothing(workspace):
    output = import_sample("--dry-run")

    assert Contact.objects.count() == 0
    assert output.splitlines()[-1].startswith(
        "Dry run: would have created 17, updated 0, unchanged 0, rejected 13"
    )
    run = ImportRun.objects.get()
    assert (run.dry_run, run.created, run.rejected, run.row_errors.count()) == (True, 17, 13, 13)


def test_import_csv__small_chunks__same_result_across_chunk_boundaries(workspace):
    import_sample("--chunk-size", "4")

    run = ImportRun.objects.get()
    assert (run.created, run.updated, run.unchanged, run.rejected) == (17, 0, 0, 13)
    assert [(e.line, e.reason) for e in run.row_errors.all()] == SAMPLE_ERRORS


def test_import_csv__errors_option__writes_the_report(workspace, tmp_path):
    report = tmp_path / "errors.csv"

    import_sample("--errors", str(report))

    lines = report.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "line,reason"
    assert lines[1:4] == [
        "4,invalid email 'grace@example'",
        "5,missing required field first_name",
        "8,duplicate of line 2 (same external_id)",
    ]
    assert len(lines) == 14


def test_import_csv__saved_mapping__reused_by_name(workspace):
    import_sample("--save-mapping", "legacy crm", "--dry-run")
    saved = ImportMapping.objects.get(name="legacy crm")

    run_command("contacts", str(SAMPLE), "--mapping-name", "legacy crm")

    assert saved.kind == "contacts"
    assert saved.mapping == json.loads(SAMPLE_MAPPING.read_text())
    assert Contact.objects.count() == 17


# Bad input: a clear error, nothing changed -------------------------------------


@pytest.mark.parametrize(
    ("kind", "mapping", "message"),
    [
        ("people", {"columns": {"First Name": "first_name"}}, "Unknown kind 'people'"),
        (
            "contacts",
            {"columns": {"First Name": "first_name", "Email": "emial"}},
            "Column 'Email' maps to unknown field 'emial'",
        ),
        (
            "contacts",
            {"columns": {"First Name": "first_name", "Mail": "email"}},
            "Columns not in the file: Mail",
        ),
        ("contacts", {"columns": {"Email": "email"}}, "Required fields are not mapped: first_name"),
        (
            "contacts",
            {"columns": {"First Name": "first_name", "Email": "email"}, "unmapped": "everything"},
            '"unmapped" must be "attributes" or "ignore"',
        ),
        (
            "accounts",
            {"columns": {"First Name": "name"}, "unmapped": "attributes"},
            '"unmapped": "attributes" only applies to contacts, not accounts',
        ),
    ],
)
def test_import_csv__unusable_kind_or_mapping__clear_error_and_nothing_changed(
    workspace, tmp_path, kind, mapping, message
):
    mapping_file = write_mapping(tmp_path, mapping)

    with pytest.raises(CommandError) as excinfo:
        run_command(kind, str(SAMPLE), "--mapping", str(mapping_file))

    assert str(excinfo.value).startswith(message)
    assert str(excinfo.value).endswith("Nothing was imported.")
    assert Contact.objects.count() == 0
    assert Account.objects.count() == 0


def test_import_csv__mapping_not_json__clear_error(workspace, tmp_path):
    mapping_file = write(tmp_path, "mapping.json", '{"columns": {"First Name": ')

    with pytest.raises(CommandError, match="The mapping is not valid JSON"):
        run_command("contacts", str(SAMPLE), "--mapping", str(mapping_file))

    assert Contact.objects.count() == 0


def test_import_csv__file_neither_utf8_nor_windows_1252__clear_error_and_nothing_changed(
    workspace, tmp_path
):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"First Name,Email\nAda,ada@example.com\nJo\x81,jo@example.com\n")
    mapping = write_mapping(tmp_path, {"columns": {"First Name": "first_name", "Email": "email"}})

    with pytest.raises(CommandError) as excinfo:
        run_command("contacts", str(path), "--mapping", str(mapping))

    assert str(excinfo.value) == (
        "The file is neither UTF-8 nor Windows-1252 text: line 3 holds byte 0x81; "
        "save it again as UTF-8. Nothing was imported."
    )
    assert Contact.objects.count() == 0
    assert ImportRun.objects.get().status == ImportRun.Status.FAILED


def test_import_csv__missing_file__clear_error(workspace, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run_command("contacts", str(tmp_path / "nope.csv"), "--mapping", str(SAMPLE_MAPPING))


# Other kinds -------------------------------------------------------------------


def test_import_csv__accounts_then_contacts_by_account_name__linked(workspace, tmp_path):
    accounts = write(
        tmp_path,
        "accounts.csv",
        "Id,Company,Web\nA-1,Acme Ltd,acme.example\nA-2,Globex,globex.example\nA-1,Acme,x\n",
    )
    accounts_mapping = write_mapping(
        tmp_path, {"columns": {"Id": "external_id", "Company": "name", "Web": "domain"}}, "a.json"
    )
    contacts = write(
        tmp_path,
        "contacts.csv",
        "Name,Email,Company\nAda,ada@example.com,Acme Ltd\nBob,bob@example.com,Initech\n",
    )
    contacts_mapping = write_mapping(
        tmp_path,
        {"columns": {"Name": "first_name", "Email": "email", "Company": "account_name"}},
        "c.json",
    )

    accounts_out = run_command("accounts", str(accounts), "--mapping", str(accounts_mapping))
    contacts_out = run_command("contacts", str(contacts), "--mapping", str(contacts_mapping))

    assert accounts_out.splitlines()[0] == "line 4: duplicate of line 2 (same external_id)"
    assert contacts_out.splitlines()[0] == "line 3: no account named 'Initech'"
    ada = Contact.objects.get(email="ada@example.com")
    assert (ada.account.name, ada.account.external_id) == ("Acme Ltd", "A-1")
    assert Account.objects.count() == 2


def test_import_csv__interactions__contacts_resolved_dates_parsed_idempotent(workspace, tmp_path):
    contact = factories.ContactFactory(workspace=workspace, email="ada@example.com", external_id="")
    path = write(
        tmp_path,
        "interactions.csv",
        "Who,When,Type,Subject,Notes\n"
        'ada@example.com,12/03/2024 14:30,Call,Renewal,"Talked about\nthe renewal"\n'
        "ADA@example.com,12 Mar 2024,email,Welcome,Hi\n"
        "nobody@example.com,2024-03-12,call,Lost,\n"
        "ada@example.com,someday,call,Later,\n"
        "ada@example.com,2024-03-12T14:30:00+00:00,call,Renewal,again\n",
    )
    mapping = write_mapping(
        tmp_path,
        {
            "columns": {
                "Who": "contact_email",
                "When": "occurred_at",
                "Type": "channel",
                "Subject": "subject",
                "Notes": "body",
            }
        },
    )

    first = run_command("interactions", str(path), "--mapping", str(mapping))
    second = run_command("interactions", str(path), "--mapping", str(mapping))

    first_run, _ = ImportRun.objects.order_by("pk")
    assert first.splitlines() == [
        "line 5: no contact with email 'nobody@example.com'",
        "line 6: invalid date 'someday' for occurred_at",
        "line 7: duplicate of line 2 (same contact and time)",
        f"created 2, updated 0, unchanged 0, rejected 3 (5 rows, import run #{first_run.pk})",
    ]
    assert second.splitlines()[-1].startswith("created 0, updated 0, unchanged 2, rejected 3")
    call = Interaction.objects.get(subject="Renewal")
    assert (call.contact_id, call.channel, call.body) == (
        contact.pk,
        "call",
        "Talked about\nthe renewal",
    )
    assert call.occurred_at == dt.datetime(2024, 3, 12, 14, 30, tzinfo=dt.UTC)


def test_import_csv__orders__updated_only_when_values_differ(workspace, tmp_path):
    factories.ContactFactory(workspace=workspace, external_id="C-1", email="ada@example.com")
    mapping = write_mapping(
        tmp_path,
        {
            "columns": {
                "Order": "external_id",
                "Customer": "contact_external_id",
                "Date": "ordered_at",
                "Amount": "total",
                "State": "status",
            },
            "values": {"status": {"complete": "paid"}},
        },
    )
    first = write(
        tmp_path,
        "o1.csv",
        'Order,Customer,Date,Amount,State\nO-1,C-1,2024-01-05,"1,250.00",complete\nO-2,C-1,2024-01-06,$99,refunded\nO-3,C-1,2024-01-07,lots,paid\n',
    )
    second = write(
        tmp_path,
        "o2.csv",
        "Order,Customer,Date,Amount,State\nO-1,C-1,2024-01-05,1250,complete\nO-2,C-1,2024-01-06,99,paid\n",
    )

    first_out = run_command("orders", str(first), "--mapping", str(mapping))
    second_out = run_command("orders", str(second), "--mapping", str(mapping))

    first_run, second_run = ImportRun.objects.order_by("pk")
    assert first_out.splitlines() == [
        "line 4: invalid number 'lots' for total",
        f"created 2, updated 0, unchanged 0, rejected 1 (3 rows, import run #{first_run.pk})",
    ]
    assert second_out.splitlines() == [
        f"created 0, updated 1, unchanged 1, rejected 0 (2 rows, import run #{second_run.pk})"
    ]
    assert dict(Order.objects.values_list("external_id", "total")) == {
        "O-1": Decimal("1250.00"),
        "O-2": Decimal("99.00"),
    }
    assert Order.objects.get(external_id="O-2").status == "paid"


# The engine and the cleaning -----------------------------------------------------


def test_run_import__on_chunk__called_per_chunk_with_its_errors(workspace):
    seen = []

    result = importer.run_import(
        workspace=workspace,
        kind="contacts",
        source=services.byte_source_for_path(SAMPLE),
        mapping=json.loads(SAMPLE_MAPPING.read_text()),
        chunk_size=10,
        on_chunk=lambda result, errors: seen.append(
            (result.counts.processed, [e.line for e in errors])
        ),
    )

    assert seen == [
        (10, [4, 5, 8, 9, 10]),
        (20, [13, 16, 17]),
        (30, [23, 24, 26, 27, 30]),
    ]
    assert result.counts.as_dict() == {"created": 17, "updated": 0, "unchanged": 0, "rejected": 13}
    assert ImportRowError.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "day_first", "expected"),
    [
        ("2024-03-12", True, dt.date(2024, 3, 12)),
        ("12/03/2024", True, dt.date(2024, 3, 12)),
        ("12/03/2024", False, dt.date(2024, 12, 3)),
        ("03/25/2024", True, dt.date(2024, 3, 25)),
        ("25/03/2024", False, dt.date(2024, 3, 25)),
        ("12.03.2024", True, dt.date(2024, 3, 12)),
        ("2024/3/5", True, dt.date(2024, 3, 5)),
        ("12 Mar 2024", True, dt.date(2024, 3, 12)),
        ("12-Mar-2024", True, dt.date(2024, 3, 12)),
        ("March 12, 2024", True, dt.date(2024, 3, 12)),
        ("  12 march 2024 ", True, dt.date(2024, 3, 12)),
        ("31/02/2024", True, None),
        ("13/13/2024", True, None),
        ("yesterday", True, None),
    ],
)
def test_parse_date__common_formats__parsed_or_none(raw, day_first, expected):
    assert cleaning.parse_date(raw, day_first=day_first) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+44 20 7946 0018", None, "+442079460018"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("(202) 555-0147", "US", "+12025550147"),
        ("020 7946 0018", None, "020 7946 0018"),
        (" ext. 12 ", None, "ext. 12"),
    ],
)
def test_clean_phone__numbers__e164_where_possible(raw, region, expected):
    assert cleaning.clean_phone(raw, region=region) == expected


def test_clean_email__trimmed_lowercased_or_none():
    assert cleaning.clean_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"
    assert cleaning.clean_email("ada@") is None
