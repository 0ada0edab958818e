"""``manage.py deliver_webhooks [--once]``: the webhook delivery loop of the embedded set-up.

Reads the outbox, fans each new event out to its subscribed endpoints and
sends the messages that are due, retrying failures with exponential backoff
and jitter. ``make run`` starts it next to the web server, so no web request
ever sends a webhook. Where a broker is configured Celery does the same work
(``crmcore.integrations.tasks``); running this as well does no harm: an
attempt claims its message first.
"""

from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand, CommandError

from crmcore.integrations import services
from crmcore.integrations.conf import app_settings

#: Passes between two prunings of old outbox events.
PRUNE_EVERY = 600


class Command(BaseCommand):
    help = "Deliver webhooks from the outbox: fan events out, send due messages, retry."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="One pass, then exit")
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="Seconds to sleep when idle (default WEBHOOKS_DELIVERY_INTERVAL_SECONDS)",
        )
        parser.add_argument("--batch", type=int, default=200, help="Events and messages per pass")

    def handle(self, *args, **options) -> None:
        interval = options["interval"]
        if interval is None:
            interval = app_settings.WEBHOOKS_DELIVERY_INTERVAL_SECONDS
        if interval < 0 or options["batch"] < 1:
            raise CommandError("--interval must be >= 0 and --batch >= 1")
        if options["once"]:
            dispatched, attempts = self._pass(options["batch"])
            self.stdout.write(f"{dispatched} deliveries queued, {attempts} attempts made")
            return
        stopping = False

        def stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        passes = 0
        while not stopping:
            dispatched, attempts = self._pass(options["batch"])
            passes += 1
            if passes % PRUNE_EVERY == 1:
                services.outbox_events_prune()
            if not dispatched and not attempts:
                time.sleep(interval)

    def _pass(self, batch: int) -> tuple[int, int]:
        dispatched = len(services.outbox_events_dispatch(limit=batch))
        attempts = services.webhook_deliveries_send_due(limit=batch)
        return dispatched, attempts
