"""``manage.py export_contacts --format csv|jsonl [--workspace ID] [--user NAME]``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.management.base import BaseCommand, CommandError
from django.test import RequestFactory

from crmcore.integrations import exports
from crmcore.models import Workspace
from crmcore.workspaces import production_workspace


class Command(BaseCommand):
    help = (
        "Export every contact of a workspace as CSV or JSON Lines. AI fields are included "
        "as the given --user would see them through the API (none without --user)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--format", choices=sorted(exports.FORMATS), default="csv")
        parser.add_argument("--workspace", type=int, help="Workspace id (default: production)")
        parser.add_argument("--user", help="Export as this user (their AI fields)")
        parser.add_argument("--output", help="File to write (default: standard output)")
        parser.add_argument("--chunk-size", type=int, default=None)

    def handle(self, *args, **options) -> None:
        if options["workspace"] is None:
            workspace = production_workspace()
        else:
            workspace = Workspace.objects.filter(pk=options["workspace"]).first()
            if workspace is None:
                raise CommandError(f"No workspace with id {options['workspace']}")
        user = AnonymousUser()
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user named {options['user']!r}")
        request = RequestFactory().get(f"/api/v1/exports/contacts.{options['format']}")
        request.user = user
        request.workspace = workspace
        stream, _ = exports.FORMATS[options["format"]]
        parts = stream(request=request, workspace=workspace, chunk_size=options["chunk_size"])
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                out.writelines(parts)
        else:
            for part in parts:
                self.stdout.write(part, ending="")
