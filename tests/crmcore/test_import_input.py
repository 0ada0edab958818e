"""CSV import of unusual or hostile files: malformed lines, headers, encodings, limits."""

from __future__ import annotations

import io
import threading

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.db import connection
from django.http.multipartparser import MultiPartParser
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from crmcore import factories
from crmcore.integrations import importer, services
from crmcore.integrations.conf import app_settings
from crmcore.integrations.models import ImportRun
from crmcore.integrations.uploads import ImportUploadLimit, OversizedUpload
from crmcore.models import Contact, Interaction

CONTACTS = {"columns": {"Name": "first_name", "Email": "email"}}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def source_of(data: bytes) -> importer.ByteSource:
    return lambda: io.BytesIO(data)


def run(data: bytes | str, mapping=None, kind="contacts", workspace=None, **kwargs):
    if isinstance(data, str):
        data = data.encode("utf-8")
    errors: list[importer.RowError] = []
    result = importer.run_import(
        workspace=workspace,
        kind=kind,
        source=source_of(data),
        mapping=mapping or CONTACTS,
        on_chunk=lambda result, chunk_errors: errors.extend(chunk_errors),
        **kwargs,
    )
    return result, [(e.line, e.reason) for e in errors]


def good_rows(first: int, count: int) -> str:
    return "".join(f"Person {i},p{i}@example.com\n" for i in range(first, first + count))


# Malformed lines ---------------------------------------------------------------------


def test_run_import__stray_quote_after_1500_good_rows__that_line_rejected_the_rest_kept(
    workspace,
):
    text = (
        "Name,Email\n"
        + good_rows(0, 1500)
        + '"Ada" Lovelace,ada@example.com\n'  # line 1502
        + good_rows(1500, 10)
    )

    result, errors = run(text, workspace=workspace)

    assert errors == [
        (
            1502,
            "not readable CSV: a quoted value is followed by other text "
            "(quote the whole value and double the quotes inside it)",
        )
    ]
    assert result.counts.as_dict() == {"created": 1510, "updated": 0, "unchanged": 0, "rejected": 1}
    assert result.total_rows == 1511
    assert Contact.objects.count() == 1510
    assert not Contact.objects.filter(email="ada@example.com").exists()


def test_run_import__quote_never_closed__its_line_rejected_and_the_lines_it_swallowed_read(
    workspace,
):
    text = 'Name,Email\nAda,ada@example.com\n"Bob,bob@example.com\nCyd,cyd@example.com\n'

    result, errors = run(text, workspace=workspace)

    assert errors == [(3, "not readable CSV: a quoted value is never closed")]
    assert sorted(Contact.objects.values_list("first_name", flat=True)) == ["Ada", "Cyd"]
    assert (result.total_rows, result.counts.rejected) == (3, 1)


def test_run_import__quote_closed_lines_later_by_another_row__each_line_reread_by_number(
    workspace,
):
    # Line 3 opens a quote; line 5's opening quote closes it, then fails: only line 3 is lost.
    text = (
        "Name,Email\n"
        "Ada,ada@example.com\n"
        '"Bob,bob@example.com\n'
        "Cyd,cyd@example.com\n"
        '"Dee",dee@example.com\n'
        "Eve,eve@example.com\n"
    )

    _result, errors = run(text, workspace=workspace)

    assert [line for line, _ in errors] == [3]
    assert sorted(Contact.objects.values_list("first_name", flat=True)) == [
        "Ada",
        "Cyd",
        "Dee",
        "Eve",
    ]


def test_run_import__quoted_value_over_several_lines__kept_and_later_lines_numbered_right(
    workspace,
):
    ada = factories.ContactFactory(workspace=workspace, email="ada@example.com")
    text = (
        "Channel,When,Email,Body\n"
        'email,2024-03-01 10:00,ada@example.com,"Dear team,\n\nthanks for ""all""."\n'
        'call,2024-03-02 10:00,ada@example.com,"Called" back\n'  # line 5
        "note,2024-03-03 10:00,ada@example.com,Fine\n"
    )
    mapping = {
        "columns": {
            "Channel": "channel",
            "When": "occurred_at",
            "Email": "contact_email",
            "Body": "body",
        }
    }

    _result, errors = run(text, mapping=mapping, kind="interactions", workspace=workspace)

    assert [line for line, _ in errors] == [5]
    assert list(Interaction.objects.order_by("occurred_at").values_list("contact", "body")) == [
        (ada.pk, 'Dear team,\n\nthanks for "all".'),
        (ada.pk, "Fine"),
    ]


def test_run_import__header_not_readable__refused_naming_line_1_nothing_written(workspace):
    with pytest.raises(importer.ImportInputError) as caught:
        run('"Name" x,Email\nAda,ada@example.com\n', workspace=workspace)

    assert str(caught.value) == (
        "The header (line 1) is not readable CSV: a quoted value is followed by other text "
        "(quote the whole value and double the quotes inside it)"
    )
    assert Contact.objects.count() == 0


def test_run_import__no_row_readable__refused_naming_the_first_problem_nothing_written(
    workspace,
):
    text = 'Name,Email\n"Ada" L,ada@example.com\n"Bob" M,bob@example.com\n'

    with pytest.raises(importer.ImportInputError) as caught:
        run(text, workspace=workspace)

    assert str(caught.value) == (
        "No row is readable CSV with the comma delimiter; the first problem is on line 2: "
        "not readable CSV: a quoted value is followed by other text "
        "(quote the whole value and double the quotes inside it)"
    )
    assert Contact.objects.count() == 0


# Headers -----------------------------------------------------------------------------


def test_run_import__duplicated_headers__refused_naming_them_and_their_columns(workspace):
    text = "Name,Email,Plan,Email,Plan, Plan \nAda,ada@example.com,Pro,x@example.com,B,C\n"

    with pytest.raises(importer.ImportInputError) as caught:
        run(text, workspace=workspace)

    assert str(caught.value) == (
        "Duplicated column headers: 'Email' (columns 2, 4); 'Plan' (columns 3, 5, 6); "
        "rename or remove them"
    )
    assert Contact.objects.count() == 0


def test_run_import__several_empty_headers__not_duplicates(workspace):
    result, errors = run("Name,Email,,\nAda,ada@example.com,,\n", workspace=workspace)

    assert (result.counts.created, errors) == (1, [])


# Encodings and delimiters ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding", "delimiter"),
    [
        ("Name,Email\nJosé,jose@example.com\n".encode(), "utf-8", ","),
        ("\ufeffName;Email\nJosé;jose@example.com\n".encode(), "utf-8-sig", ";"),
        ("Name;Email\r\nJosé;jose@example.com\r\n".encode("cp1252"), "cp1252", ";"),
        ("Name\tEmail\nJosé\tjose@example.com\n".encode("cp1252"), "cp1252", "\t"),
        ("Name|Email\nJosé|jose@example.com\n".encode("utf-16"), "utf-16", "|"),
    ],
    ids=["utf8-comma", "utf8-bom-semicolon", "cp1252-semicolon", "cp1252-tab", "utf16-bar"],
)
def test_run_import__encoding_and_delimiter__detected_and_read(
    workspace, data, encoding, delimiter
):
    result, errors = run(data, workspace=workspace)

    assert errors == []
    assert result.file_format == importer.FileFormat(encoding=encoding, delimiter=delimiter)
    assert list(Contact.objects.values_list("first_name", "email")) == [
        ("José", "jose@example.com")
    ]


def test_run_import__windows_1252_punctuation__decoded(workspace):
    data = "Name;Email;Note\nRenée;renee@example.com;“5 €” — ok\n".encode("cp1252")

    run(data, mapping={**CONTACTS, "unmapped": "attributes"}, workspace=workspace)

    contact = Contact.objects.get()
    assert (contact.first_name, contact.attributes) == ("Renée", {"Note": "“5 €” — ok"})


def test_detect_delimiter__semicolons_with_decimal_commas__semicolon():
    lines = ["Name;Total;Email\n", "Ada;1,50;ada@example.com\n", "Bob;2,75;bob@example.com\n"]

    assert importer.detect_delimiter(lines) == ";"


def test_detect_delimiter__one_column__comma():
    assert importer.detect_delimiter(["Email\n", "ada@example.com\n"]) == ","


def test_run_import__delimiter_in_mapping__used_instead_of_detection(workspace):
    result, errors = run(
        "Name;Email|x\nAda;ada@example.com|y\n",
        mapping={"columns": {"Name": "first_name", "Email|x": "email"}, "delimiter": ";"},
        workspace=workspace,
    )

    assert result.file_format == importer.FileFormat(
        encoding="utf-8", delimiter=";", delimiter_detected=False
    )
    assert errors == [(2, "invalid email 'ada@example.com|y'")]


def test_run_import__utf8_then_a_windows_1252_byte__refused_naming_the_line(workspace):
    data = "Name,Email\nJosé,jose@example.com\n".encode() + "Renée,r@example.com\n".encode("cp1252")

    with pytest.raises(importer.ImportInputError) as caught:
        run(data, workspace=workspace)

    assert str(caught.value) == (
        "The file is UTF-8 text until line 3, where it is not (byte 0xE9); save it again as UTF-8"
    )
    assert Contact.objects.count() == 0


def test_run_import__xlsx_file__refused_as_not_csv(workspace):
    with pytest.raises(importer.ImportInputError, match="not CSV text; save it as CSV first"):
        run(b"PK\x03\x04\x14\x00\x06\x00rest of a zip", workspace=workspace)


# NUL bytes and attributes ---------------------------------------------------------------


def test_run_import__nul_in_a_cell__row_rejected_the_others_kept(workspace):
    text = "Name,Email,Skipped\nA\x00da,ada@example.com,\nBob,bob@example.com,x\x00y\n"

    _result, errors = run(text, workspace=workspace)

    assert errors == [(2, "Name holds a NUL character, which cannot be stored")]
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["Bob"]


def test_run_import__nul_in_a_header_kept_as_attribute__file_refused(workspace):
    with pytest.raises(importer.ImportInputError) as caught:
        run(
            "Name,Email,Pl\x00an\nAda,ada@example.com,Pro\n",
            mapping={**CONTACTS, "unmapped": "attributes"},
            workspace=workspace,
        )

    assert str(caught.value) == "The header holds a NUL character (column 3)"


def test_parse_mapping__nul_character__refused():
    with pytest.raises(importer.ImportInputError, match="The mapping contains a NUL character"):
        importer.parse_mapping(
            {"columns": {"Na\x00me": "first_name", "Email": "email"}},
            spec=importer.kind_spec("contacts"),
        )


def test_run_import__row_with_more_attributes_than_allowed__rejected(workspace):
    limit = app_settings.IMPORT_MAX_ATTRIBUTE_KEYS
    names = [f"a{i}" for i in range(limit + 1)]
    header = ",".join(["Name", "Email", *names])
    full = ",".join(["Ada", "ada@example.com", *["x"] * (limit + 1)])
    within = ",".join(["Bob", "bob@example.com", "x", *[""] * limit])

    _result, errors = run(
        f"{header}\n{full}\n{within}\n",
        mapping={**CONTACTS, "unmapped": "attributes"},
        workspace=workspace,
    )

    assert limit == 100
    assert errors == [(2, "has 101 attributes; a contact has at most 100")]
    assert list(Contact.objects.values_list("first_name", "attributes")) == [("Bob", {"a0": "x"})]


def test_run_import__update_past_the_attribute_limit__rejected_contact_unchanged(
    workspace, settings
):
    settings.CRMCORE_IMPORT_MAX_ATTRIBUTE_KEYS = 3
    ada = factories.ContactFactory(
        workspace=workspace, email="ada@example.com", attributes={"plan": "Pro", "tier": "1"}
    )

    _result, errors = run(
        "Name,Email,colour,size\nAda,ada@example.com,blue,L\n",
        mapping={**CONTACTS, "unmapped": "attributes"},
        workspace=workspace,
    )

    assert errors == [(2, f"would give contact {ada.pk} 4 attributes; a contact has at most 3")]
    ada.refresh_from_db()
    assert ada.attributes == {"plan": "Pro", "tier": "1"}


# Matching by email, whatever its case ----------------------------------------------------


def test_run_import__email_known_in_another_case__updates_that_one_contact(workspace):
    ada = factories.ContactFactory(
        workspace=workspace, first_name="Ada", last_name="", email="Ada@Example.com"
    )

    result, errors = run(
        "Name,Last,Email\nAda,Lovelace,ADA@example.COM\n",
        mapping={"columns": {"Name": "first_name", "Last": "last_name", "Email": "email"}},
        workspace=workspace,
    )

    assert (errors, result.counts.updated, result.counts.created) == ([], 1, 0)
    ada.refresh_from_db()
    assert (ada.last_name, ada.email) == ("Lovelace", "Ada@Example.com")
    assert Contact.objects.count() == 1


def test_run_import__interaction_for_email_in_another_case__linked_to_the_contact(workspace):
    ada = factories.ContactFactory(workspace=workspace, email="Ada@Example.com")

    _result, errors = run(
        "Channel,When,Email\ncall,2024-03-01 10:00,ada@example.com\n",
        mapping={
            "columns": {"Channel": "channel", "When": "occurred_at", "Email": "contact_email"}
        },
        kind="interactions",
        workspace=workspace,
    )

    assert errors == []
    assert list(Interaction.objects.values_list("contact", flat=True)) == [ada.pk]


def test_run_import__external_id_of_one_contact_email_of_another__row_rejected(workspace):
    ada = factories.ContactFactory(workspace=workspace, external_id="C-1", email="a@example.com")
    bob = factories.ContactFactory(workspace=workspace, external_id="C-2", email="b@example.com")

    _result, errors = run(
        "Id,Name,Email\nC-1,Ada,B@example.com\n",
        mapping={"columns": {"Id": "external_id", "Name": "first_name", "Email": "email"}},
        workspace=workspace,
    )

    assert errors == [
        (
            2,
            f"email 'b@example.com' belongs to another contact (id {bob.pk}) than "
            f"external_id 'C-1' (id {ada.pk})",
        )
    ]
    ada.refresh_from_db()
    assert ada.email == "a@example.com"


# The upload limit ---------------------------------------------------------------------------


def _upload(size: int) -> SimpleUploadedFile:
    body = b"Name,Email\n" + b"x" * (size - 11)
    return SimpleUploadedFile("big.csv", body, content_type="text/csv")


def test_upload_limit__file_past_the_limit__dropped_while_read_and_marked(settings):
    settings.CRMCORE_IMPORT_MAX_UPLOAD_BYTES = 1000
    body = encode_multipart(BOUNDARY, {"kind": "contacts", "file": _upload(5000)})
    meta = {"CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(len(body))}
    handlers = [ImportUploadLimit(), MemoryFileUploadHandler()]

    data, files = MultiPartParser(meta, io.BytesIO(body), handlers).parse()

    upload = files["file"]
    assert isinstance(upload, OversizedUpload)
    assert (upload.size, upload.read(), data["kind"]) == (5000, b"", "contacts")


def test_import_page__file_past_the_limit__400_with_the_limit_nothing_stored(
    logged_in_client, workspace, settings
):
    settings.CRMCORE_IMPORT_MAX_UPLOAD_BYTES = 1000

    response = logged_in_client.post(
        reverse("integrations:import-new"),
        {
            "kind": "contacts",
            "file": _upload(5000),
            "mapping": '{"columns": {"Name": "first_name", "Email": "email"}}',
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "The file is larger than the 1000\xa0bytes an import may be "
        "(CRMCORE_IMPORT_MAX_UPLOAD_BYTES); split it into smaller files"
    ]
    assert ImportRun.objects.count() == 0


def test_import_page__file_within_the_limit__imported(
    logged_in_client, workspace, settings, django_capture_on_commit_callbacks
):
    settings.CRMCORE_IMPORT_MAX_UPLOAD_BYTES = 1000
    upload = SimpleUploadedFile("ok.csv", b"Name;Email\nAda;ada@example.com\n")

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(
            reverse("integrations:import-new"),
            {
                "kind": "contacts",
                "file": upload,
                "mapping": '{"columns": {"Name": "first_name", "Email": "email"}}',
            },
        )

    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert (run.created, run.encoding, run.delimiter) == (1, "utf-8", ";")


def test_import_page__post_without_csrf_token__403_nothing_stored(user, workspace):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(
        reverse("integrations:import-new"),
        {
            "kind": "contacts",
            "file": _upload(200),
            "mapping": '{"columns": {"Name": "first_name", "Email": "email"}}',
        },
    )

    assert response.status_code == 403
    assert ImportRun.objects.count() == 0


def test_imports_api__file_past_the_limit__400_with_the_limit(api_client, workspace, settings):
    settings.CRMCORE_IMPORT_MAX_UPLOAD_BYTES = 1000

    response = api_client.post(
        "/api/v1/imports/",
        {
            "kind": "contacts",
            "file": _upload(5000),
            "mapping": '{"columns": {"Name": "first_name", "Email": "email"}}',
        },
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json() == {
        "file": [
            "The file is larger than the 1000\xa0bytes an import may be "
            "(CRMCORE_IMPORT_MAX_UPLOAD_BYTES); split it into smaller files"
        ]
    }
    assert ImportRun.objects.count() == 0


def test_upload_settings__coherent_with_the_import_limit():
    limit = app_settings.IMPORT_MAX_UPLOAD_BYTES

    assert limit == 20 * 1024 * 1024
    # Files past this size are spooled to disk, not memory, on their way to the limit.
    assert limit >= django_settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    # Form fields (the pasted mapping) have their own, smaller bound.
    assert limit >= django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE


# The detail page -----------------------------------------------------------------------------


def test_import_detail__file_format__shown(
    logged_in_client, workspace, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("legacy.csv", "Name;Email\nRenée;r@example.com\n".encode("cp1252"))
    with django_capture_on_commit_callbacks(execute=True):
        run_ = services.import_run_create(
            workspace=workspace, kind="contacts", upload=upload, mapping=CONTACTS, dry_run=True
        )

    response = logged_in_client.get(reverse("integrations:import-detail", args=[run_.pk]))

    assert response.status_code == 200
    assert (
        '<p class="muted" data-testid="import-file-format">'
        "Read as Windows-1252, semicolon-separated (detected).</p>"
    ) in response.content.decode()


def test_run_import__contact_with_the_email_written_during_the_chunk__chunk_read_again(
    workspace, monkeypatch
):
    # Given: between the chunk's lookup and its insert, a contact with the row's email
    # appears (another request), so the insert breaks the unique constraint once.
    real_lookup = importer.ContactWriter.lookup
    calls = []

    def racing_lookup(self, rows):
        found = real_lookup(self, rows)
        calls.append(len(found))
        if len(calls) == 1:
            factories.ContactFactory(workspace=workspace, email="ADA@example.com")
        return found

    monkeypatch.setattr(importer.ContactWriter, "lookup", racing_lookup)

    result, errors = run(
        "Name,Email\nAda,ada@example.com\nBob,bob@example.com\n", workspace=workspace
    )

    assert (calls, errors) == ([0, 0], [])
    assert result.counts.as_dict() == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "ada@example.com",
        "bob@example.com",
    ]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a second writer needs a server database; the in-memory SQLite test database "
    "locks whole tables (the retry itself is covered above on both databases)",
)
@pytest.mark.django_db(transaction=True)
def test_run_import__another_connection_commits_the_email_mid_chunk__that_contact_updated():
    # Given: between the chunk's lookup and its insert, another connection commits a
    # contact with the row's email (in another case).
    from crmcore.workspaces import production_workspace

    workspace = production_workspace()
    real_lookup = importer.ContactWriter.lookup
    calls = []

    def create_elsewhere() -> None:
        try:
            factories.ContactFactory(
                workspace=workspace, first_name="Other", email="ADA@example.com"
            )
        finally:
            connection.close()

    def racing_lookup(self, rows):
        found = real_lookup(self, rows)
        calls.append(len(found))
        if len(calls) == 1:
            thread = threading.Thread(target=create_elsewhere)
            thread.start()
            thread.join()
        return found

    importer.ContactWriter.lookup = racing_lookup
    try:
        result, errors = run(
            "Name,Email\nAda,ada@example.com\nBob,bob@example.com\n", workspace=workspace
        )
    finally:
        importer.ContactWriter.lookup = real_lookup

    assert (calls, errors) == ([0, 1], [])
    assert result.counts.as_dict() == {"created": 1, "updated": 1, "unchanged": 0, "rejected": 0}
    assert sorted(Contact.objects.values_list("first_name", "email")) == [
        ("Ada", "ADA@example.com"),
        ("Bob", "bob@example.com"),
    ]
