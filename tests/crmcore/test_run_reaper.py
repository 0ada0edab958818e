"""A killed import does not stay running: heartbeats, the reaper, and a real kill -9.

Without a broker (these tests) the reaper's re-run is executed in-process.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from crmcore import factories
from crmcore.integrations import services
from crmcore.integrations.models import ImportRowError, ImportRun
from crmcore.models import Contact
from crmcore.workspaces import production_workspace
from tests.processes import RowLock, manage, on_postgresql, wait_until

MAPPING = {
    "columns": {"First": "first_name", "Email": "email", "Stage": "lifecycle_stage"},
}
LONG_AGO = timezone.make_aware(dt.datetime(2026, 1, 1, 9, 0))


def write_import(
    tmp_path: Path, rows: int, *, bad_lines: tuple[int, ...] = ()
) -> tuple[Path, Path]:
    """A contacts CSV of ``rows`` rows (person<i>@example.com) and its mapping file.

    A data line in ``bad_lines`` (the header is line 1) has an invalid email.
    """
    lines = ["First,Email,Stage"]
    for i in range(1, rows + 1):
        email = "broken@" if i + 1 in bad_lines else f"person{i}@example.com"
        lines.append(f"Person{i},{email},customer")
    csv_path = tmp_path / "contacts.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping_path = tmp_path / "mapping.json"
    mapping_path.write_text(json.dumps(MAPPING), encoding="utf-8")
    return csv_path, mapping_path


def stale_run(workspace, csv_path: Path | None, **fields) -> ImportRun:
    """A run left "running" by a process that died long ago."""
    return ImportRun.objects.create(
        workspace=workspace,
        kind="contacts",
        mapping=MAPPING,
        file_name="contacts.csv",
        source_path=str(csv_path) if csv_path else "",
        status=ImportRun.Status.RUNNING,
        heartbeat_at=LONG_AGO,
        attempts=1,
        **fields,
    )


def reap(*args: str) -> str:
    out = StringIO()
    call_command("reap_stale_runs", *args, stdout=out)
    return out.getvalue()


def counts(run: ImportRun) -> tuple:
    run.refresh_from_db()
    return (
        run.status,
        run.attempts,
        run.total_rows,
        run.processed_rows,
        run.created,
        run.updated,
        run.unchanged,
        run.rejected,
    )


def test_import_run_execute__each_chunk__writes_the_heartbeat(db, tmp_path):
    workspace = production_workspace()
    csv_path, _ = write_import(tmp_path, 25)
    run = services.import_run_start(
        workspace=workspace,
        kind="contacts",
        file_name="contacts.csv",
        mapping=MAPPING,
        dry_run=False,
        source_path=str(csv_path),
    )
    ImportRun.objects.filter(pk=run.pk).update(heartbeat_at=LONG_AGO)
    beats = []

    def on_chunk(result, errors):
        beats.append(ImportRun.objects.values_list("heartbeat_at", flat=True).get(pk=run.pk))

    services.import_run_execute(
        run=run, source=services.byte_source_for_path(csv_path), chunk_size=10, on_chunk=on_chunk
    )

    assert len(beats) == 3
    assert beats[0] > LONG_AGO
    assert beats == sorted(beats)
    assert counts(run) == ("done", 1, 25, 25, 25, 0, 0, 0)


def test_import_csv_command__source_recorded__for_a_rerun(db, tmp_path):
    csv_path, mapping_path = write_import(tmp_path, 2)

    call_command(
        "import_csv",
        "contacts",
        str(csv_path),
        "--mapping",
        str(mapping_path),
        verbosity=0,
        stdout=StringIO(),
    )

    run = ImportRun.objects.get()
    assert (run.source_path, run.status, run.attempts) == (str(csv_path.resolve()), "done", 1)
    assert run.heartbeat_at is not None


def test_reap_stale_runs__killed_import_half_written__rerun_once_without_duplicates(db, tmp_path):
    # Given: a 30-row import killed after writing its first 12 rows (one of them
    # rejected), with the counts and rejected row of that attempt recorded.
    workspace = production_workspace()
    csv_path, _ = write_import(tmp_path, 30, bad_lines=(5,))
    run = stale_run(workspace, csv_path, total_rows=30, processed_rows=12, created=11, rejected=1)
    ImportRowError.objects.create(run=run, line=5, reason="invalid email 'broken@'")
    Contact.objects.bulk_create(
        [
            Contact(
                workspace=workspace,
                first_name=f"Person{i}",
                email=f"person{i}@example.com",
                lifecycle_stage="customer",
            )
            for i in range(1, 13)
            if i != 4
        ]
    )

    # When: the reaper runs.
    output = reap()

    # Then: interrupted, run again from the top; the 11 rows already written are unchanged.
    assert f"Imports: 1 interrupted (#{run.pk}), 1 queued again (#{run.pk})" in output
    assert counts(run) == ("done", 2, 30, 30, 18, 0, 11, 1)
    assert run.error == ""
    assert list(run.row_errors.values_list("line", "reason")) == [(5, "invalid email 'broken@'")]
    emails = list(Contact.objects.in_workspace(workspace).values_list("email", flat=True))
    assert len(emails) == len(set(emails)) == 29


def test_reap_stale_runs__file_gone__interrupted_not_queued(db, tmp_path):
    workspace = production_workspace()
    run = stale_run(workspace, tmp_path / "gone.csv")

    output = reap()

    assert f"Imports: 1 interrupted (#{run.pk}), 0 queued again" in output
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("interrupted", 1)
    assert run.error == "Interrupted: its heartbeat stopped and its file is gone; import it again."


def test_reap_stale_runs__recent_heartbeat__left_running(db, tmp_path):
    workspace = production_workspace()
    csv_path, _ = write_import(tmp_path, 2)
    run = stale_run(workspace, csv_path)
    ImportRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
    stale_before = ImportRun.objects.create(
        workspace=workspace,
        kind="contacts",
        mapping=MAPPING,
        status=ImportRun.Status.DONE,
        heartbeat_at=LONG_AGO,
    )

    output = reap()

    assert "Imports: 0 interrupted, 0 queued again" in output
    assert list(ImportRun.objects.order_by("pk").values_list("pk", "status")) == [
        (run.pk, "running"),
        (stale_before.pk, "done"),
    ]


def test_reap_stale_runs__stale_after_option__overrides_the_setting(db, tmp_path, settings):
    settings.RUN_HEARTBEAT_TIMEOUT_SECONDS = 10**9
    workspace = production_workspace()
    run = stale_run(workspace, tmp_path / "gone.csv")

    assert "Imports: 0 interrupted" in reap()
    assert f"Imports: 1 interrupted (#{run.pk})" in reap("--stale-after", "60")


def test_reap_stale_runs__negative_stale_after__command_error(db):
    with pytest.raises(CommandError, match="--stale-after cannot be negative"):
        reap("--stale-after", "-1")


def test_import_run_claim__second_delivery__gets_nothing(db):
    run = ImportRun.objects.create(
        workspace=production_workspace(), kind="contacts", mapping=MAPPING
    )

    first = services.import_run_claim(run_id=run.pk)
    second = services.import_run_claim(run_id=run.pk)

    assert (first.pk, first.status, first.attempts) == (run.pk, "running", 1)
    assert second is None


def test_import_runs_reap__another_reaper_took_it_meanwhile__left_to_it(db, tmp_path, monkeypatch):
    workspace = production_workspace()
    run = stale_run(workspace, tmp_path / "gone.csv")
    can_rerun = services.import_run_can_rerun

    def other_reaper_first(listed):
        # Between this reaper's listing and its update, another one takes the run.
        ImportRun.objects.filter(pk=listed.pk).update(status=ImportRun.Status.INTERRUPTED)
        return can_rerun(listed)

    monkeypatch.setattr(services, "import_run_can_rerun", other_reaper_first)
    report = services.import_runs_reap()

    assert (report.interrupted, report.requeued) == ((), ())
    run.refresh_from_db()
    assert (run.status, run.error) == ("interrupted", "")


# A real process, killed --------------------------------------------------------


@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="needs PostgreSQL: two processes on one database, and row locks",
)
@pytest.mark.django_db(transaction=True)
def test_import_csv_process__killed_mid_import__reaper_completes_it_once(tmp_path):
    assert on_postgresql()
    # Given: a 30-row file imported in chunks of 10, whose 15th row updates a
    # contact that this test keeps locked: the second chunk waits there.
    workspace = production_workspace()
    csv_path, mapping_path = write_import(tmp_path, 30)
    locked = factories.ContactFactory(
        workspace=workspace,
        first_name="Old",
        email="person15@example.com",
        account=None,
        lifecycle_stage="customer",
    )
    lock = RowLock(Contact.objects.filter(pk=locked.pk))
    with lock:
        command = manage(
            "import_csv",
            "contacts",
            str(csv_path),
            "--mapping",
            str(mapping_path),
            "--chunk-size",
            "10",
            "--verbosity",
            "0",
        )
        try:
            # When: the first chunk is written (progress and heartbeat), the process is killed.
            wait_until(
                lambda: ImportRun.objects.filter(processed_rows__gte=10).exists(),
                "the import's first chunk",
                process=command,
            )
            command.kill()
        finally:
            command.stop()
    run = ImportRun.objects.get()
    assert (run.status, run.processed_rows, run.created) == ("running", 10, 10)
    assert run.heartbeat_at is not None
    assert command.returncode == -signal.SIGKILL

    # ...and the reaper runs.
    output = reap("--stale-after", "0")

    # Then: the import ran once more, to the end; every row once; nothing left running.
    assert f"Imports: 1 interrupted (#{run.pk}), 1 queued again (#{run.pk})" in output
    assert counts(run) == ("done", 2, 30, 30, 19, 1, 10, 0)
    emails = list(Contact.objects.in_workspace(workspace).values_list("email", flat=True))
    assert sorted(emails) == sorted(f"person{i}@example.com" for i in range(1, 31))
    assert Contact.objects.get(pk=locked.pk).first_name == "Person15"
    assert not ImportRun.objects.filter(status=ImportRun.Status.RUNNING).exists()
