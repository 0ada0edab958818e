"""manage.py seed_demo --contacts N --seed S [--workspace ID] [--replace]"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from crmcore.models import Contact, Workspace
from crmcore.workspaces import production_workspace
from training_sandbox import generator


class Command(BaseCommand):
    help = (
        "Fill a workspace (production by default) with deterministic demo data: accounts, "
        "contacts with orders and interactions, deals and campaigns."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--contacts", type=int, default=1000, help="How many contacts.")
        parser.add_argument("--seed", type=int, default=42, help="Generator seed.")
        parser.add_argument("--workspace", type=int, default=None, help="Workspace id.")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Delete the workspace's CRM data first (otherwise a workspace with "
            "contacts is refused).",
        )

    def handle(self, *args, contacts: int, seed: int, workspace, replace: bool, **options):
        if contacts < 1:
            raise CommandError("--contacts must be at least 1")
        if workspace is None:
            target = production_workspace()
        else:
            target = Workspace.objects.filter(pk=workspace).first()
            if target is None:
                raise CommandError(f"No workspace with id {workspace}")
        existing = Contact.objects.in_workspace(target).count()
        if existing and not replace:
            raise CommandError(
                f"Workspace {target.pk} ({target.name}) already has {existing:,} contacts; "
                "nothing was changed. Use --replace to delete its CRM data and seed it again."
            )
        started = time.perf_counter()
        show = options["verbosity"] >= 1
        with (
            tqdm(total=contacts, unit="contacts", disable=not show, file=sys.stderr) as bar,
            transaction.atomic(),
        ):
            if existing:
                generator.clear_workspace_data(workspace=target)
            summary = generator.generate_workspace_data(
                workspace=target, contacts=contacts, seed=seed, progress=bar
            )
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded workspace {target.pk} ({target.name}) with seed {seed} "
                f"in {elapsed:.1f} s: "
                f"{summary.contacts:,} contacts ({summary.leads:,} leads, "
                f"{summary.customers:,} customers, {summary.churned:,} churned), "
                f"{summary.accounts:,} accounts, {summary.orders:,} orders, "
                f"{summary.interactions:,} interactions, {summary.deals:,} deals, "
                f"{summary.campaigns} campaigns."
            )
        )
