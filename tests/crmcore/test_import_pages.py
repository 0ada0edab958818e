"""The import page and the imports API: upload, mapping (saved or pasted), result, error report."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crmcore import extensions, factories
from crmcore.integrations import services
from crmcore.integrations.models import ImportMapping, ImportRun
from crmcore.models import Contact

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SAMPLE = FIXTURES / "sample_contacts_messy.csv"
MAPPING_TEXT = (FIXTURES / "sample_contacts_mapping.json").read_text()
REPORT_HEAD = (
    "line,reason\r\n"
    "4,invalid email 'grace@example'\r\n"
    "5,missing required field first_name\r\n"
    "8,duplicate of line 2 (same external_id)\r\n"
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("legacy.csv", SAMPLE.read_bytes(), content_type="text/csv")


def saved_mapping(workspace) -> ImportMapping:
    return services.import_mapping_save(
        workspace=workspace, name="legacy", kind="contacts", mapping=MAPPING_TEXT
    )


def run_in(workspace) -> ImportRun:
    return services.import_run_create(
        workspace=workspace, kind="contacts", upload=upload(), mapping=MAPPING_TEXT
    )


# The page -----------------------------------------------------------------------


def test_import_page__get__form_and_recent_runs_fixed_queries(
    logged_in_client, workspace, django_assert_num_queries, monkeypatch
):
    # Other apps' header links (and their queries) are left out: this pins the page's own.
    own = {
        key: item
        for key, item in extensions.nav_items._items.items()
        if key.startswith("integrations")
    }
    monkeypatch.setattr(extensions.nav_items, "_items", own)
    saved_mapping(workspace)
    for _ in range(3):
        run_in(workspace)

    # session, user, workspace, saved mappings, recent runs
    with django_assert_num_queries(5):
        response = logged_in_client.get("/integrations/import/")

    assert response.status_code == 200
    assert len(response.context["runs"]) == 3
    assert b'data-testid="import-form"' in response.content
    assert b"<option value=" in response.content


def test_import_page__post_pasted_mapping__imported_and_mapping_saved(
    logged_in_client, workspace, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(
            "/integrations/import/",
            {"kind": "contacts", "file": upload(), "mapping": MAPPING_TEXT, "save_as": "legacy"},
        )

    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/integrations/import/{run.pk}/"
    assert (run.status, run.created, run.rejected, run.created_by) == ("done", 17, 13, user)
    assert ImportMapping.objects.get().name == "legacy"
    page = logged_in_client.get(f"/integrations/import/{run.pk}/")
    assert page.status_code == 200
    assert [(e.line, e.reason) for e in page.context["errors"]][:2] == [
        (4, "invalid email 'grace@example'"),
        (5, "missing required field first_name"),
    ]
    assert f"/integrations/import/{run.pk}/errors.csv".encode() in page.content


def test_import_page__post_saved_mapping__imported(
    logged_in_client, workspace, django_capture_on_commit_callbacks
):
    saved = saved_mapping(workspace)

    with django_capture_on_commit_callbacks(execute=True):
        logged_in_client.post(
            "/integrations/import/",
            {"kind": "contacts", "file": upload(), "saved_mapping": saved.pk, "dry_run": "on"},
        )

    run = ImportRun.objects.get()
    assert (run.dry_run, run.created, run.rejected) == (True, 17, 13)
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ('{"columns": ', "The mapping is not valid JSON"),
        ('{"columns": {"First Name": "nickname"}}', "maps to unknown field &#x27;nickname&#x27;"),
    ],
)
def test_import_page__bad_mapping__400_with_the_reason_nothing_stored(
    logged_in_client, workspace, mapping, message
):
    response = logged_in_client.post(
        "/integrations/import/", {"kind": "contacts", "file": upload(), "mapping": mapping}
    )

    assert response.status_code == 400
    assert message.encode() in response.content
    assert ImportRun.objects.count() == 0


def test_import_page__error_report__downloaded_as_csv(logged_in_client, workspace):
    run = run_in(workspace)
    services.import_run_execute(run=run)

    response = logged_in_client.get(f"/integrations/import/{run.pk}/errors.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(response.streaming_content).decode()
    assert content.startswith(REPORT_HEAD)
    assert content.count("\r\n") == 14


def test_import_page__run_of_another_workspace__404(logged_in_client, sandbox):
    run = run_in(sandbox)

    assert logged_in_client.get(f"/integrations/import/{run.pk}/").status_code == 404
    assert logged_in_client.get(f"/integrations/import/{run.pk}/errors.csv").status_code == 404


def test_import_page__anonymous__redirected_to_login(client, workspace):
    response = client.get("/integrations/import/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# The API ------------------------------------------------------------------------


def test_imports_api__post_file_and_mapping__201_with_counts(
    api_client, workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/imports/",
            {"kind": "contacts", "file": upload(), "mapping": MAPPING_TEXT},
            format="multipart",
        )

    assert response.status_code == 201
    run_id = response.json()["id"]
    detail = api_client.get(f"/api/v1/imports/{run_id}/").json()
    assert {k: detail[k] for k in ("status", "created", "updated", "unchanged", "rejected")} == {
        "status": "done",
        "created": 17,
        "updated": 0,
        "unchanged": 0,
        "rejected": 13,
    }
    assert (detail["total_rows"], detail["progress_percent"]) == (30, 100)
    report = api_client.get(f"/api/v1/imports/{run_id}/errors/")
    assert b"".join(report.streaming_content).decode().startswith(REPORT_HEAD)


def test_imports_api__saved_mapping_by_name__imported(
    api_client, workspace, django_capture_on_commit_callbacks
):
    saved_mapping(workspace)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/imports/",
            {"kind": "contacts", "file": upload(), "mapping_name": "legacy"},
            format="multipart",
        )

    assert response.status_code == 201
    assert Contact.objects.count() == 17


def test_imports_api__mapping_names_unknown_field__400_nothing_stored(api_client, workspace):
    response = api_client.post(
        "/api/v1/imports/",
        {"kind": "contacts", "file": upload(), "mapping": '{"columns": {"First Name": "nick"}}'},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["mapping"][0].startswith("Column 'First Name' maps to unknown field")
    assert ImportRun.objects.count() == 0


def test_imports_api__list__newest_first_this_workspace_only_fixed_queries(
    api_client, workspace, sandbox, django_assert_num_queries
):
    runs = [run_in(workspace) for _ in range(3)]
    run_in(sandbox)

    # workspace, page (paged by cursor: no count)
    with django_assert_num_queries(2):
        response = api_client.get("/api/v1/imports/")

    assert [r["id"] for r in response.json()["results"]] == [r.pk for r in reversed(runs)]


@pytest.mark.parametrize("model", ["importrun", "importmapping"])
def test_import_admin__changelist_and_change_page__200(staff_client, workspace, model):
    run = run_in(workspace)
    mapping = saved_mapping(workspace)
    pk = run.pk if model == "importrun" else mapping.pk

    assert staff_client.get(f"/admin/crmcore/{model}/").status_code == 200
    assert staff_client.get(f"/admin/crmcore/{model}/{pk}/change/").status_code == 200


# The mapping screen -------------------------------------------------------------

LINES_CSV = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
    "536365,85123A,WHITE HANGING HEART,6,01/12/2010 08:26,2.55,17850\n"
    "536365,71053,WHITE METAL LANTERN,6,01/12/2010 08:26,3.39,17850\n"
)
TABLE_CSV = (
    "Customer ID;Name;E-mail;Signed up;Tenure;Paperless;Contract\n"
    "A-1;Ada;ada@example.com;05/03/2022;12 months;Yes;Month-to-month\n"
    "A-2;Bob;bob@example.com;2021-11-30;3 months;No;One year\n"
    "A-3;Zoë;zoe@example.com;2020-02-01;40 months;yes;Month-to-month\n"
)


def file_upload(text: str, name: str = "table.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("cp1252"), content_type="text/csv")


def to_mapping_screen(client, text: str, kind: str = "contacts") -> str:
    response = client.post("/integrations/import/", {"kind": kind, "file": file_upload(text)})
    assert response.status_code == 302
    assert response["Location"].startswith("/integrations/import/map/")
    return response["Location"]


def test_import_page__no_mapping__mapping_screen_with_suggestions_and_types(
    logged_in_client, workspace, core_only, django_assert_num_queries
):
    url = to_mapping_screen(logged_in_client, TABLE_CSV)

    # session, user, workspace (crmcore's own: other apps' header links left out)
    with django_assert_num_queries(3):
        page = logged_in_client.get(url)

    assert page.status_code == 200
    form = page.context["form"]
    suggested = {name: field.initial for name, field in form.fields.items() if name[:4] == "col_"}
    assert suggested == {
        "col_0": "external_id",
        "col_1": "first_name",
        "col_2": "email",
        "col_3": "attributes",
        "col_4": "attributes",
        "col_5": "attributes",
        "col_6": "attributes",
    }
    text = page.content.decode()
    assert "Read as Windows-1252, semicolon-separated (detected)" in text
    assert "looks like number (months)" in text
    assert "looks like yes/no" in text
    assert "looks like date" in text


def mapping_post(url, client, action, **extra):
    data = {
        "kind": "contacts",
        "col_0": "external_id",
        "col_1": "first_name",
        "col_2": "email",
        "col_3": "attributes",
        "type_3": "date",
        "col_4": "attributes",
        "type_4": "number",
        "unit_4": "months",
        "col_5": "attributes",
        "col_6": "",
        "date_order": "dmy",
        "action": action,
        **extra,
    }
    return client.post(url, data)


def test_mapping_screen__preview__rows_as_stored_nothing_written(logged_in_client, workspace):
    url = to_mapping_screen(logged_in_client, TABLE_CSV)

    page = mapping_post(url, logged_in_client, "preview")

    assert page.status_code == 200
    stored = page.context["stored"]
    assert [row.line for row in stored] == [2, 3, 4]
    assert dict(stored[0].values) == {
        "external_id": "A-1",
        "first_name": "Ada",
        "email": "ada@example.com",
        "attributes.Signed up": "2022-03-05",
        "attributes.Tenure": "12",
        "attributes.Paperless": "yes",
    }
    assert Contact.objects.count() == 0
    assert ImportRun.objects.count() == 0


def test_mapping_screen__import__mapping_saved_by_name_run_created(logged_in_client, workspace):
    url = to_mapping_screen(logged_in_client, TABLE_CSV)

    response = mapping_post(url, logged_in_client, "import", save_as="Billing export")

    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/integrations/import/{run.pk}/"
    saved = ImportMapping.objects.get(name="Billing export")
    assert saved.mapping == run.mapping
    assert saved.mapping["types"] == {
        "attributes.Signed up": "date",
        "attributes.Tenure": "number",
    }
    assert saved.mapping["units"] == {"attributes.Tenure": "months"}
    services.import_run_execute(run=run)
    run.refresh_from_db()
    assert (run.created, run.rejected) == (3, 0)
    assert Contact.objects.get(external_id="A-2").attributes == {
        "Signed up": "2021-11-30",
        "Tenure": "3",
        "Paperless": "no",
    }


def test_mapping_screen__dry_run__error_report_nothing_written(logged_in_client, workspace):
    url = to_mapping_screen(logged_in_client, TABLE_CSV)

    response = mapping_post(url, logged_in_client, "dry_run", type_5="number")

    run = ImportRun.objects.get()
    assert run.dry_run
    services.import_run_execute(run=run)
    page = logged_in_client.get(response["Location"])
    assert b"invalid number &#x27;Yes&#x27; for Paperless" in page.content
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"col_1": ""}, "Required fields are not mapped: first_name"),
        ({"col_0": "", "col_2": ""}, "Map at least one of: email, external_id"),
        ({"col_1": "email"}, "Several columns map to email"),
        ({"col_1": "nickname"}, "Select a valid choice"),
        ({"unit_5": "x" * 21}, "at most 20 characters"),
        ({"type_5": "money"}, "Select a valid choice"),
    ],
)
def test_mapping_screen__bad_choices__400_with_the_reason(
    logged_in_client, workspace, extra, message
):
    url = to_mapping_screen(logged_in_client, TABLE_CSV)

    page = mapping_post(url, logged_in_client, "import", **extra)

    assert page.status_code == 400
    assert message.encode() in page.content
    assert ImportRun.objects.count() == 0


def test_mapping_screen__order_lines__fields_suggested_by_header(logged_in_client, workspace):
    url = to_mapping_screen(logged_in_client, LINES_CSV, kind="order_lines")

    page = logged_in_client.get(url)

    form = page.context["form"]
    assert [form.fields[f"col_{i}"].initial for i in range(7)] == [
        "order_id",
        "product_code",
        "description",
        "quantity",
        "ordered_at",
        "unit_price",
        "contact_external_id",
    ]


def test_mapping_screen__token_of_another_session__404(client, logged_in_client, workspace, user):
    url = to_mapping_screen(logged_in_client, TABLE_CSV)
    other = type(logged_in_client)()
    other.force_login(factories.UserFactory(username="other"))

    assert other.get(url).status_code == 404
    assert logged_in_client.get("/integrations/import/map/nope/").status_code == 404
    assert logged_in_client.get(f"{url.split('?')[0]}?kind=widgets").status_code == 404


@pytest.mark.parametrize(
    "content",
    [b"PK\x03\x04zipped", b"", b'"never closed\n', b"a,a\n1,2\n", b"\xff\xfe\x00\xd8" * 3],
)
def test_mapping_screen__unreadable_file__400_with_the_reason(logged_in_client, workspace, content):
    response = logged_in_client.post(
        "/integrations/import/",
        {"kind": "contacts", "file": SimpleUploadedFile("bad.csv", content)},
    )
    if response.status_code == 400:  # refused on the first screen already
        return
    page = logged_in_client.get(response["Location"])

    assert page.status_code == 400
    assert b'data-testid="import-refused"' in page.content


def test_import_page__error_with_a_file__file_kept_no_mapping_message(logged_in_client, workspace):
    saved = saved_mapping(workspace)

    page = logged_in_client.post(
        "/integrations/import/",
        {
            "kind": "contacts",
            "file": upload(),
            "saved_mapping": saved.pk,
            "mapping": MAPPING_TEXT,
        },
    )

    assert page.status_code == 400
    assert b"Choose a saved mapping or paste one, not both." in page.content
    assert b"Using <strong>legacy.csv</strong>, already uploaded" in page.content
    token = page.context["form"]["staged"].value()
    # The form sent again without choosing the file: the staged one is used
    response = logged_in_client.post(
        "/integrations/import/",
        {"kind": "contacts", "staged": token, "saved_mapping": saved.pk},
    )
    assert response.status_code == 302
    assert ImportRun.objects.get().file_name == "legacy.csv"


def test_import_page__no_file_no_mapping__asks_for_the_file_only(logged_in_client, workspace):
    page = logged_in_client.post("/integrations/import/", {"kind": "contacts"})

    assert page.status_code == 400
    assert b"Choose a CSV file." in page.content
    assert b"paste one" not in page.content


def test_mapping_screen__huge_field__row_error_in_the_preview(logged_in_client, workspace):
    text = "Id,Name\nA-1,Ada\nA-2," + "x" * 200_000 + "\n"
    url = to_mapping_screen(logged_in_client, text)

    page = logged_in_client.post(
        url,
        {"kind": "contacts", "col_0": "external_id", "col_1": "first_name", "action": "preview"},
    )

    assert page.status_code == 200, page.context["form"].errors
    stored = page.context["stored"]
    assert [(row.line, row.error) for row in stored] == [
        (2, ""),
        (3, "not readable CSV: a value is longer than 131072 characters (a quote never closed?)"),
    ]
