"""``manage.py import_csv <kind> FILE --mapping MAPPING.json [--workspace ID] [--dry-run]``.

``--quiet``: the imported records' events reach no webhook subscriber.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from crmcore.integrations import importer, selectors, services
from crmcore.integrations.models import ImportKind
from crmcore.models import Workspace
from crmcore.workspaces import production_workspace


class Command(BaseCommand):
    help = (
        "Import a CSV file of accounts, contacts, interactions or orders. Rejected rows are "
        "printed with their line number (the header is line 1); the other rows are imported."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("kind", help=f"One of: {', '.join(ImportKind.values)}")
        parser.add_argument(
            "file", help="The CSV file (header on line 1; encoding and delimiter detected)"
        )
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--mapping", help="A mapping JSON file")
        source.add_argument("--mapping-name", help="The name of a saved mapping")
        parser.add_argument("--save-mapping", metavar="NAME", help="Save --mapping under NAME")
        parser.add_argument("--workspace", type=int, help="Workspace id (default: production)")
        parser.add_argument("--user", help="Username recorded as the importer")
        parser.add_argument("--dry-run", action="store_true", help="Check and count, write nothing")
        parser.add_argument(
            "--quiet",
            action="store_true",
            help="Do not notify webhook subscribers of the imported records (analysis still runs)",
        )
        parser.add_argument("--errors", metavar="FILE", help="Also write rejected rows as CSV")
        parser.add_argument("--chunk-size", type=int, default=None)

    def handle(self, *args, **options) -> None:
        workspace = self._workspace(options["workspace"])
        user = self._user(options["user"])
        mapping = self._mapping(options, workspace)
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"Cannot read {path}: no such file")
        try:
            if options["save_mapping"]:
                services.import_mapping_save(
                    workspace=workspace,
                    name=options["save_mapping"],
                    kind=options["kind"],
                    mapping=mapping,
                    user=user,
                )
            run = services.import_run_start(
                workspace=workspace,
                kind=options["kind"],
                file_name=path.name,
                mapping=mapping,
                dry_run=options["dry_run"],
                notify_subscribers=not options["quiet"],
                user=user,
                source_path=str(path.resolve()),
            )
        except importer.ImportInputError as exc:
            raise CommandError(f"{exc}. Nothing was imported.") from None

        show_progress = options["verbosity"] >= 1
        bar: tqdm | None = None

        def on_start(total: int) -> None:
            nonlocal bar
            bar = tqdm(total=total, unit="rows", disable=not show_progress, leave=False)

        def on_chunk(result: importer.ImportResult, errors: list[importer.RowError]) -> None:
            if bar is not None:
                bar.update(result.counts.processed - bar.n)
            if errors:
                with tqdm.external_write_mode():
                    for error in errors:
                        self.stdout.write(f"line {error.line}: {error.reason}")

        try:
            run = services.import_run_execute(
                run=run,
                source=services.byte_source_for_path(path),
                chunk_size=options["chunk_size"],
                on_chunk=on_chunk,
                on_start=on_start,
            )
        except importer.ImportInputError as exc:
            raise CommandError(f"{exc}. Nothing was imported.") from None
        finally:
            if bar is not None:
                bar.close()
        if options["errors"]:
            self._write_errors(run, options["errors"])
        prefix = "Dry run: would have " if run.dry_run else ""
        self.stdout.write(
            f"{prefix}created {run.created}, updated {run.updated}, "
            f"unchanged {run.unchanged}, rejected {run.rejected} "
            f"({run.total_rows} rows, import run #{run.pk})"
        )

    def _workspace(self, workspace_id: int | None) -> Workspace:
        if workspace_id is None:
            return production_workspace()
        workspace = Workspace.objects.filter(pk=workspace_id).first()
        if workspace is None:
            raise CommandError(f"No workspace with id {workspace_id}")
        return workspace

    def _user(self, username: str | None):
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}")
        return user

    def _mapping(self, options, workspace: Workspace):
        if options["mapping_name"]:
            saved = selectors.import_mapping_get(workspace=workspace, name=options["mapping_name"])
            if saved is None:
                raise CommandError(f"No saved mapping named {options['mapping_name']!r}")
            return saved.mapping
        try:
            return json.loads(Path(options["mapping"]).read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"Cannot read the mapping: {exc}") from None
        except ValueError as exc:
            raise CommandError(
                f"The mapping is not valid JSON: {exc}. Nothing was imported."
            ) from None

    def _write_errors(self, run, target: str) -> None:
        import csv

        with open(target, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["line", "reason"])
            for error in selectors.import_row_errors(run=run):
                writer.writerow([error.line, error.reason])
