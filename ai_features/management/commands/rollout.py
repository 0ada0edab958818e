"""manage.py rollout: see and change the AI rollout from the shell.

    rollout status
    rollout set sentiment --phase pilot --team "EMEA Sales" --user alice --reason "..."
    rollout set sentiment --percent 25 --reason "..."
    rollout set sentiment --phase everyone --reason "..."
    rollout kill on --reason "..."

Changes are made as ``--actor`` (a staff username; default: the only
superuser, else required) and written to the audit log.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ai_features import selectors, services
from ai_features.models import RolloutAuditEntry
from ai_features.registry import registry


class Command(BaseCommand):
    help = "Show or change the phase of each AI capability and the kill switch."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="Every capability, its phase, teams, percent; kill switch.")

        set_parser = sub.add_parser("set", help="Set a capability's phase.")
        set_parser.add_argument("capability")
        set_parser.add_argument("--phase", choices=services.PHASES)
        set_parser.add_argument("--percent", type=float)
        set_parser.add_argument("--team", action="append", dest="teams", default=None)
        set_parser.add_argument("--user", action="append", dest="users", default=None)
        set_parser.add_argument("--reason", default="")
        set_parser.add_argument("--actor", default=None, help="Staff username making the change.")

        kill = sub.add_parser("kill", help="Turn the kill switch on (all AI off) or off.")
        kill.add_argument("state", choices=["on", "off"])
        kill.add_argument("--reason", default="")
        kill.add_argument("--actor", default=None, help="Staff username making the change.")

    def handle(self, *args, **options) -> None:
        action = options["action"]
        if action == "status":
            self._status()
            return
        if not (options.get("reason") or "").strip():
            raise CommandError("--reason is required: say why you change the rollout.")
        actor = self._actor(options.get("actor"))
        try:
            if action == "set":
                if options["capability"] not in registry:
                    known = ", ".join(registry.keys())
                    raise CommandError(
                        f"Unknown capability {options['capability']!r} (known: {known})"
                    )
                if options["phase"] is None and options["percent"] is None:
                    raise CommandError("Give --phase or --percent.")
                services.rollout_set_phase(
                    capability=options["capability"],
                    phase=options["phase"],
                    percent=options["percent"],
                    teams=options["teams"],
                    users=options["users"],
                    actor=actor,
                    reason=options["reason"],
                    source=RolloutAuditEntry.Source.CLI,
                )
                status = selectors.capability_status(key=options["capability"])
                self.stdout.write(
                    self.style.SUCCESS(f"{status['key']}: phase {status['phase']}")
                    + self._audience(status)
                )
            else:
                services.rollout_kill_switch_set(
                    active=options["state"] == "on",
                    actor=actor,
                    reason=options["reason"],
                    source=RolloutAuditEntry.Source.CLI,
                )
                self.stdout.write(self.style.SUCCESS(f"Kill switch {options['state']}."))
        except services.RolloutError as exc:
            raise CommandError(str(exc)) from exc

    @staticmethod
    def _audience(status: dict) -> str:
        parts = []
        if status.get("teams"):
            parts.append("teams: " + ", ".join(status["teams"]))
        if status.get("users"):
            parts.append("users: " + ", ".join(status["users"]))
        if status.get("percent"):
            parts.append(f"percent: {status['percent']}")
        return (" (" + "; ".join(parts) + ")") if parts else ""

    def _actor(self, username: str | None):
        users = get_user_model().objects.filter(is_staff=True, is_active=True)
        if username:
            actor = users.filter(username=username).first()
            if actor is None:
                raise CommandError(f"No active staff user {username!r}.")
            return actor
        superusers = list(users.filter(is_superuser=True)[:2])
        if len(superusers) != 1:
            raise CommandError("Give --actor <staff username> (the change is audited as theirs).")
        return superusers[0]

    def _status(self) -> None:
        overview = selectors.rollout_overview()
        state = "ON (every AI capability is off)" if overview.kill_switch else "off"
        self.stdout.write(f"Kill switch: {state}")
        for cap in overview.capabilities:
            teams = ", ".join(cap.teams) or "-"
            users = ", ".join(cap.users) or "-"
            percent = f"{cap.percent}%" if cap.percent is not None else "-"
            self.stdout.write(
                f"{cap.key:<18} phase={cap.phase:<10} percent={percent:<7} "
                f"teams={teams}  users={users}"
            )
