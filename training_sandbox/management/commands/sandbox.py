"""manage.py sandbox create|reset|delete --user <username> [--contacts N] [--seed S]"""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from training_sandbox import selectors, services
from training_sandbox.conf import app_settings


class Command(BaseCommand):
    help = "Create, reset (to its seeded state) or delete a trainee's sandbox."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["create", "reset", "delete"])
        parser.add_argument("--user", required=True, help="The trainee's username.")
        parser.add_argument("--contacts", type=int, default=None, help="Size (create only).")
        parser.add_argument("--seed", type=int, default=None, help="Generator seed (create only).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, action: str, user: str, contacts, seed, no_progress, **options):
        try:
            trainee = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user {user!r}") from None
        sandbox = selectors.sandbox_for(user=trainee)
        if action != "create" and sandbox is None:
            raise CommandError(f"{user} has no sandbox")
        if action != "create" and (contacts is not None or seed is not None):
            raise CommandError("--contacts and --seed only apply to create (reset keeps both)")
        started = time.perf_counter()
        try:
            if action == "delete":
                services.sandbox_delete(workspace=sandbox)
                self.stdout.write(self.style.SUCCESS(f"Deleted the sandbox of {user}."))
                return
            size = (
                contacts
                if action == "create"
                else getattr(sandbox.sandbox_settings, "contacts", None)
            )
            progress = None if no_progress or options["verbosity"] < 1 else self._bar(size)
            try:
                if action == "create":
                    sandbox = services.sandbox_create(
                        user=trainee, contacts=contacts, seed=seed, progress=progress
                    )
                else:
                    sandbox = services.sandbox_reset(workspace=sandbox, progress=progress)
            finally:
                if progress is not None:
                    progress.close()
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        verb = "Created" if action == "create" else "Reset"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} the sandbox of {user}: {sandbox.sandbox_settings.contacts} contacts, "
                f"seed {sandbox.seed}, in {time.perf_counter() - started:.1f} s."
            )
        )

    def _bar(self, total: int | None):
        return tqdm(
            total=total or app_settings.DEFAULT_CONTACTS,
            unit="contacts",
            file=self.stderr._out,
            leave=False,
        )
