"""manage.py setup_demo --contacts N --seed S: a ready demo, safe to run again (``make run``).

1. Seeds the production workspace with the demo generator if it has no contacts.
2. Creates the demo users if missing (admin, alice, bob, carol, dave) and gives
   them new random passwords on every run, and puts them in their teams.
3. On that first seeding only, loads every Django fixture in
   ``fixtures/*.json`` (other JSON files there, such as import mappings, are
   left alone) and starts the demo pilot: every AI capability in the ``pilot``
   phase for the EMEA Sales team (alice and dave), audited like any rollout
   change. Later runs keep whatever the admins changed since.
4. Runs the jobs other apps provide for a ready demo, when installed:
   ``analyze_sentiment``, ``train_models``, ``score_contacts`` and
   ``score_deals --train`` (in that order).
5. Prints the URL (``--url``, by default built from the ``HOST`` and ``PORT``
   environment variables that ``make run`` also gives the server) and a table
   of usernames, passwords and roles; each role says whether the AI pilot is
   on for that user, as the rollout actually stands (not as the demo planned).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ai_features import gate
from ai_features.models import RolloutAuditEntry
from ai_features.registry import registry
from ai_features.services import rollout_set_phase
from crmcore.models import Contact
from crmcore.workspaces import production_workspace
from training_sandbox import generator
from training_sandbox.generator import catalogue

DEMO_JOBS = ("analyze_sentiment", "train_models", "score_contacts", "score_deals")


def default_url() -> str:
    """The URL ``make run`` serves: ``HOST`` and ``PORT`` from the environment."""
    host = os.environ.get("HOST") or "127.0.0.1"
    port = os.environ.get("PORT") or "8000"
    return f"http://{host}:{port}/"


DEMO_PILOT_TEAM = "EMEA Sales"


def fixture_files(directory: Path) -> list[Path]:
    """Django fixtures in ``directory``: JSON lists of objects with a ``model``."""
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, list) and all(
            isinstance(item, dict) and "model" in item for item in data
        ):
            found.append(path)
    return found


def new_password() -> str:
    return secrets.token_urlsafe(12)


def pilot_note(user, workspace) -> str:
    """ ", AI pilot: sentiment, prediction" or ", not in the AI pilot", as the gate decides."""
    enabled = [cap.key for cap in registry if gate.is_enabled(cap, user, workspace)]
    if not enabled:
        return " · AI off (not in the pilot)"
    return f" · AI pilot: {', '.join(enabled)}"


class Command(BaseCommand):
    help = "Prepare the demo: data, users with fresh passwords, fixtures and AI jobs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--contacts", type=int, default=1000, help="Contacts to seed.")
        parser.add_argument("--seed", type=int, default=42, help="Generator seed.")
        parser.add_argument(
            "--url", default=None, help="The URL printed for logins (default: from HOST and PORT)."
        )
        parser.add_argument(
            "--fixtures-dir",
            default=str(Path(settings.BASE_DIR) / "fixtures"),
            help="Where the fixtures are (default: fixtures/).",
        )

    def handle(
        self, *args, contacts: int, seed: int, url: str | None, fixtures_dir: str, **options
    ):
        if contacts < 1:
            raise CommandError("--contacts must be at least 1")
        verbose = options["verbosity"] >= 1
        workspace = production_workspace()

        # Users first: the generator gives them contacts and teams.
        users = generator.ensure_demo_users()
        passwords = {}
        for spec in catalogue.DEMO_USERS:
            user = users[spec.username]
            passwords[spec.username] = new_password()
            user.set_password(passwords[spec.username])
            user.save(update_fields=["password"])

        existing = Contact.objects.in_workspace(workspace).count()
        if existing:
            generator.ensure_demo_teams(workspace=workspace, users=users)
            self._say(verbose, f"Production already has {existing:,} contacts: kept them.")
        else:
            with tqdm(total=contacts, unit="contacts", disable=not verbose, file=sys.stderr) as bar:
                summary = generator.generate_workspace_data(
                    workspace=workspace, contacts=contacts, seed=seed, progress=bar
                )
            self._say(
                verbose,
                f"Seeded production with {summary.contacts:,} contacts (seed {seed}): "
                f"{summary.churned:,} churned, {summary.leads:,} leads, "
                f"{summary.orders:,} orders, {summary.interactions:,} interactions.",
            )

        if not existing:
            for path in fixture_files(Path(fixtures_dir)):
                call_command("loaddata", str(path), verbosity=0)
                self._say(verbose, f"Loaded fixture {path.name}.")
            self._start_demo_pilot(users["admin"], verbose)

        available = get_commands()
        for name in DEMO_JOBS:
            if name not in available:
                continue
            command = load_command_class(available[name], name)
            dests = {action.dest for action in command.create_parser("manage.py", name)._actions}
            job_options = {"workspace": workspace.pk} if "workspace" in dests else {}
            if "no_progress" in dests and not verbose:
                job_options["no_progress"] = True
            if "train" in dests:
                job_options["train"] = True
            self._say(verbose, f"Running {name}...")
            try:
                call_command(
                    command,
                    verbosity=options["verbosity"],
                    stdout=self.stdout,
                    stderr=self.stderr,
                    **job_options,
                )
            except CommandError as exc:
                self.stderr.write(f"{name} did not run: {exc}")

        self.stdout.write("")
        url = url or default_url()
        roles = {
            spec.username: f"{spec.description}{pilot_note(users[spec.username], workspace)}"
            for spec in catalogue.DEMO_USERS
        }
        self.stdout.write(self.style.SUCCESS(f"PilotCRM demo: {url}"))
        width = max(len("username"), *(len(spec.username) for spec in catalogue.DEMO_USERS))
        pw_width = max(len(p) for p in passwords.values())
        self.stdout.write(f"  {'username':<{width}}  {'password':<{pw_width}}  role / teams")
        for spec in catalogue.DEMO_USERS:
            self.stdout.write(
                f"  {spec.username:<{width}}  {passwords[spec.username]:<{pw_width}}  "
                f"{roles[spec.username]}"
            )
        self.stdout.write("Passwords are new on every run of setup_demo (make run).")

    def _start_demo_pilot(self, admin, verbose: bool) -> None:
        """Every capability in pilot for EMEA Sales, when the AI app is installed."""
        if not apps.is_installed("ai_features"):
            return
        for capability in registry:
            rollout_set_phase(
                capability=capability.key,
                actor=admin,
                reason="Demo: EMEA Sales pilots every capability",
                source=RolloutAuditEntry.Source.CLI,
                phase="pilot",
                teams=[DEMO_PILOT_TEAM],
            )
        self._say(verbose, f"Demo pilot: every AI capability is on for {DEMO_PILOT_TEAM}.")

    def _say(self, verbose: bool, text: str) -> None:
        if verbose:
            self.stdout.write(text)
