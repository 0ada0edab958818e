"""The import page and the imports API: upload, mapping (saved or pasted), result, error report."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crmcore import extensions
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
        ("", "Choose a saved mapping or paste one"),
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
