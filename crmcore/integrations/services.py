"""Writes of the integrations: imports, saved mappings, webhook endpoints and deliveries."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from crmcore import events as crm_events
from crmcore import observability, outbound
from crmcore.celery import app as celery_app
from crmcore.db import planner_statistics_refresh
from crmcore.extensions import ReapReport
from crmcore.integrations import importer, webhooks
from crmcore.integrations.conf import app_settings
from crmcore.integrations.models import (
    ImportMapping,
    ImportRowError,
    ImportRun,
    WebhookDelivery,
    WebhookEndpoint,
)
from crmcore.models import OutboxEvent, Workspace

logger = logging.getLogger(__name__)

# Imports ---------------------------------------------------------------------

#: Rows written per transaction by the CSV importer.
IMPORT_CHUNK_SIZE = 1000

#: The task that runs an import. It calls these services, so they queue it by
#: name (registered when ``crmcore.integrations.register()`` loads the tasks).
IMPORT_TASK = "crmcore.integrations.import_run_execute"


def _import_task() -> Any:
    return celery_app.tasks[IMPORT_TASK]


@transaction.atomic
def import_mapping_save(
    *, workspace: Workspace, name: str, kind: str, mapping: Any, user=None
) -> ImportMapping:
    """Save (or replace) a mapping under ``name``, after validating it for ``kind``."""
    spec = importer.kind_spec(kind)
    importer.parse_mapping(mapping, spec=spec)
    if isinstance(mapping, (str, bytes)):
        mapping = json.loads(mapping)
    saved, _ = ImportMapping.objects.update_or_create(
        workspace=workspace,
        name=name,
        defaults={"kind": spec.kind, "mapping": mapping, "created_by": user},
    )
    return saved


def byte_source_for_path(path: str | Path) -> importer.ByteSource:
    """Opens a file on disk, as bytes, once per pass of the importer."""

    def source():
        return open(path, "rb")

    return source


def byte_source_for_file(file) -> importer.ByteSource:
    """A re-readable binary source over a stored or uploaded file (left open for Django)."""

    @contextmanager
    def source() -> Iterator[Any]:
        file.open("rb")
        raw = file
        while not isinstance(raw, io.IOBase) and hasattr(raw, "file"):
            raw = raw.file  # Django's File wrappers around the Python file object
        raw.seek(0)
        yield raw

    return source


def import_upload_check(upload: File) -> None:
    """ImportInputError when the upload is larger than ``CRMCORE_IMPORT_MAX_UPLOAD_BYTES``."""
    limit = app_settings.IMPORT_MAX_UPLOAD_BYTES
    size = getattr(upload, "size", None) or 0
    if getattr(upload, "too_large", False) or size > limit:
        raise importer.ImportInputError(
            f"The file is larger than the {filesizeformat(limit)} an import may be "
            f"(CRMCORE_IMPORT_MAX_UPLOAD_BYTES); split it into smaller files"
        )


@transaction.atomic
def import_run_create(
    *,
    workspace: Workspace,
    kind: str,
    upload: File,
    mapping: Any,
    dry_run: bool = False,
    notify_subscribers: bool = True,
    user=None,
) -> ImportRun:
    """Store an uploaded file as an import run and queue it (after commit).

    The kind and mapping are validated first (ImportInputError, nothing stored).
    With ``notify_subscribers`` off the imported records' events reach no
    webhook; analysis and the other in-process listeners still get them.
    """
    spec = importer.kind_spec(kind)
    importer.parse_mapping(mapping, spec=spec)
    import_upload_check(upload)
    if isinstance(mapping, (str, bytes)):
        mapping = json.loads(mapping)
    run = ImportRun(
        workspace=workspace,
        kind=spec.kind,
        mapping=mapping,
        dry_run=dry_run,
        notify_subscribers=notify_subscribers,
        file_name=Path(upload.name or "upload.csv").name[:255],
        created_by=user,
    )
    run.file.save(run.file_name, upload, save=False)
    run.save()
    transaction.on_commit(lambda: _import_task().delay(run.pk))
    return run


def import_run_execute(
    *,
    run: ImportRun,
    source: importer.ByteSource | None = None,
    chunk_size: int | None = None,
    on_chunk: Callable[[importer.ImportResult, list[importer.RowError]], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> ImportRun:
    """Run an import run's file through the importer, recording progress and rejected rows.

    Not atomic as a whole on purpose: each chunk is its own transaction, so
    the progress is visible while it runs and memory stays bounded.
    """
    source = source or import_run_source(run)
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.RUNNING, heartbeat_at=timezone.now()
    )
    dry_errors: list[importer.RowError] = []

    def started(total: int) -> None:
        ImportRun.objects.filter(pk=run.pk).update(total_rows=total)
        if on_start is not None:
            on_start(total)

    def format_known(file_format: importer.FileFormat) -> None:
        ImportRun.objects.filter(pk=run.pk).update(
            encoding=file_format.encoding,
            delimiter=file_format.delimiter,
            delimiter_detected=file_format.delimiter_detected,
        )

    def chunk_done(result: importer.ImportResult, errors: list[importer.RowError]) -> None:
        if run.dry_run:
            dry_errors.extend(errors)
        else:
            _record_progress(run, result, errors)
        if on_chunk is not None:
            on_chunk(result, errors)

    try:
        result = importer.run_import(
            workspace=run.workspace,
            kind=run.kind,
            source=source,
            mapping=run.mapping,
            dry_run=run.dry_run,
            chunk_size=chunk_size or IMPORT_CHUNK_SIZE,
            on_chunk=chunk_done,
            on_start=started,
            on_format=format_known,
            notify_subscribers=run.notify_subscribers,
        )
    except importer.ImportInputError as exc:
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.FAILED, error=str(exc), finished_at=timezone.now()
        )
        run.refresh_from_db()
        raise
    with transaction.atomic():
        if run.dry_run:
            ImportRowError.objects.bulk_create(
                [ImportRowError(run=run, line=e.line, reason=e.reason[:500]) for e in dry_errors],
                batch_size=1000,
            )
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.DONE,
            total_rows=result.total_rows,
            processed_rows=result.counts.processed,
            finished_at=timezone.now(),
            **result.counts.as_dict(),
        )
    if not run.dry_run:
        planner_statistics_refresh(models=[importer.kind_spec(run.kind).model])
    run.refresh_from_db()
    return run


def _record_progress(
    run: ImportRun, result: importer.ImportResult, errors: list[importer.RowError]
) -> None:
    ImportRowError.objects.bulk_create(
        [ImportRowError(run=run, line=e.line, reason=e.reason[:500]) for e in errors]
    )
    ImportRun.objects.filter(pk=run.pk).update(
        processed_rows=result.counts.processed,
        heartbeat_at=timezone.now(),
        **result.counts.as_dict(),
    )


@transaction.atomic
def import_run_start(
    *,
    workspace: Workspace,
    kind: str,
    file_name: str,
    mapping: Any,
    dry_run: bool,
    notify_subscribers: bool = True,
    user=None,
    source_path: str = "",
) -> ImportRun:
    """An import run for a file read in place (the management command).

    ``source_path`` (the file's absolute path) lets the reaper run it again
    if the command is killed.
    """
    spec = importer.kind_spec(kind)
    importer.parse_mapping(mapping, spec=spec)
    return ImportRun.objects.create(
        workspace=workspace,
        kind=spec.kind,
        mapping=mapping,
        dry_run=dry_run,
        notify_subscribers=notify_subscribers,
        file_name=file_name[:255],
        created_by=user,
        source_path=source_path[:1000],
        status=ImportRun.Status.RUNNING,
        heartbeat_at=timezone.now(),
        attempts=1,
    )


def import_run_source(run: ImportRun) -> importer.ByteSource:
    """The run's bytes: its uploaded file, or the file it read in place."""
    if run.file:
        return byte_source_for_file(run.file)
    return byte_source_for_path(run.source_path)


def import_run_can_rerun(run: ImportRun) -> bool:
    if run.file:
        return run.file.storage.exists(run.file.name)
    return bool(run.source_path) and Path(run.source_path).is_file()


@transaction.atomic
def import_run_claim(*, run_id: int) -> ImportRun | None:
    """Take a pending or interrupted run for execution; None if it is not one (any more).

    One conditional update: of two deliveries of the same run, one gets it.
    An interrupted run starts again from the top: its counts and rejected
    rows are cleared, and rows its first attempt wrote are found again as
    unchanged (the importer matches records by their keys).
    """
    claimed = ImportRun.objects.filter(
        pk=run_id, status__in=[ImportRun.Status.PENDING, ImportRun.Status.INTERRUPTED]
    ).update(
        status=ImportRun.Status.RUNNING,
        heartbeat_at=timezone.now(),
        attempts=F("attempts") + 1,
        error="",
        total_rows=0,
        processed_rows=0,
        created=0,
        updated=0,
        unchanged=0,
        rejected=0,
        finished_at=None,
    )
    if not claimed:
        return None
    ImportRowError.objects.filter(run_id=run_id).delete()
    return ImportRun.objects.select_related("workspace").get(pk=run_id)


def import_runs_reap(*, stale_after: float | None = None) -> ReapReport:
    """Interrupt running imports whose heartbeat stopped, and queue them again.

    A run is stale when its heartbeat (or, for runs from before heartbeats,
    its creation) is older than ``stale_after`` seconds (default
    ``RUN_HEARTBEAT_TIMEOUT_SECONDS``). Each is marked interrupted by one
    conditional update (two reapers never both take it) and, when its file
    is still there, queued again (``tasks.import_run_execute``).
    """
    seconds = settings.RUN_HEARTBEAT_TIMEOUT_SECONDS if stale_after is None else stale_after
    now = timezone.now()
    cutoff = now - dt.timedelta(seconds=seconds)
    stale = Q(status=ImportRun.Status.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    interrupted: list[int] = []
    requeued: list[int] = []
    for run in ImportRun.objects.filter(stale).order_by("pk"):
        rerun = import_run_can_rerun(run)
        error = (
            "Interrupted: its heartbeat stopped; queued again."
            if rerun
            else "Interrupted: its heartbeat stopped and its file is gone; import it again."
        )
        if not ImportRun.objects.filter(stale, pk=run.pk).update(
            status=ImportRun.Status.INTERRUPTED, error=error, finished_at=now
        ):
            continue
        interrupted.append(run.pk)
        if not rerun:
            continue
        try:
            _import_task().delay(run.pk)
        except Exception:  # the broker is down, or an eager (embedded) re-run failed
            logger.exception("Queueing import run #%s again failed", run.pk)
        else:
            requeued.append(run.pk)
    return ReapReport(key="imports", interrupted=tuple(interrupted), requeued=tuple(requeued))


# Webhooks --------------------------------------------------------------------


class HookError(ValueError):
    """A subscription request that cannot be accepted."""


@transaction.atomic
def webhook_subscribe(
    *, workspace: Workspace, owner, event: str, target_url: str
) -> WebhookEndpoint:
    """Subscribe ``target_url`` to ``event``; the new endpoint holds its secret."""
    if event not in crm_events.registered_events():
        raise HookError(f"Unknown event {event!r}")
    try:
        webhooks.check_target(target_url)
    except webhooks.TargetRefused as exc:
        raise HookError(str(exc)) from None
    return WebhookEndpoint.objects.create(
        workspace=workspace,
        owner=owner,
        event=event,
        target_url=target_url,
        secret=webhooks.new_secret(),
    )


@transaction.atomic
def webhook_unsubscribe(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


# Delivery: the outbox fanned out to endpoints, then each message sent ----------
#
# No web request ever sends a webhook. Where a broker is configured, Celery
# tasks run both steps (``tasks.outbox_dispatch`` queued when the events
# commit, ``tasks.webhook_deliver`` per message); in the embedded set-up
# ``manage.py deliver_webhooks`` loops over the same two services. A message
# is due when ``next_attempt_at`` has passed; an attempt claims it by moving
# ``next_attempt_at`` past its timeout first, so two workers never send the
# same attempt twice.


def _lock_pending(queryset: QuerySet[OutboxEvent]) -> QuerySet[OutboxEvent]:
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset  # SQLite: its write transactions (IMMEDIATE) already run one at a time


@transaction.atomic
def outbox_events_dispatch(
    *, event_ids: Sequence[int] | None = None, limit: int = 500, now: dt.datetime | None = None
) -> list[int]:
    """Fan undispatched outbox events out to their subscribed endpoints; the new deliveries' ids.

    Endpoints are read from the database here, in whichever process runs
    this, so a hook created anywhere counts. Events of a quiet import
    (``notify_subscribers`` off) are marked dispatched with no delivery. The
    deliveries and the dispatched mark are written in one transaction.
    """
    now = now or timezone.now()
    pending = OutboxEvent.objects.filter(dispatched_at__isnull=True).order_by("id")
    if event_ids is not None:
        pending = pending.filter(pk__in=list(event_ids))
    batch = list(_lock_pending(pending)[:limit])
    if not batch:
        return []
    told = [event for event in batch if event.notify_subscribers]
    by_pair: dict[tuple[int, str], list[int]] = defaultdict(list)
    if told:
        endpoints = WebhookEndpoint.objects.filter(
            is_active=True,
            workspace_id__in={event.workspace_id for event in told},
            event__in={event.name for event in told},
        ).values_list("pk", "workspace_id", "event")
        for pk, workspace_id, name in endpoints.order_by("pk"):
            by_pair[(workspace_id, name)].append(pk)
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint_id=endpoint_id,
                outbox_event=event,
                message_id=webhooks.new_message_id(),
                event=event.name,
                payload={
                    "type": event.name,
                    "timestamp": event.created_at.isoformat(),
                    "data": event.payload,
                },
                status=WebhookDelivery.Status.PENDING,
                next_attempt_at=now,
            )
            for event in told
            for endpoint_id in by_pair[(event.workspace_id, event.name)]
        ]
    )
    OutboxEvent.objects.filter(pk__in=[event.pk for event in batch]).update(dispatched_at=now)
    return [delivery.pk for delivery in deliveries]


def outbox_events_prune(*, now: dt.datetime | None = None) -> int:
    """Delete events dispatched longer ago than ``OUTBOX_RETENTION_DAYS``; how many."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=app_settings.OUTBOX_RETENTION_DAYS)
    old = OutboxEvent.objects.filter(dispatched_at__lt=cutoff).values_list("pk", flat=True)[:5000]
    deleted, _ = OutboxEvent.objects.filter(pk__in=list(old)).delete()
    return deleted


def webhook_deliveries_due(*, now: dt.datetime | None = None, limit: int = 100) -> list[int]:
    """Ids of the deliveries whose next attempt is due, the longest waiting first."""
    return list(
        WebhookDelivery.objects.filter(
            status__in=(WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING),
            next_attempt_at__lte=now or timezone.now(),
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_deliveries_send_due(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """One attempt of every due delivery (up to ``limit``); the number of attempts made."""
    attempts = 0
    for delivery_id in webhook_deliveries_due(now=now, limit=limit):
        outcome = webhook_delivery_attempt(delivery_id=delivery_id, now=now)
        attempts += outcome.attempted
    return attempts


def retry_delay(attempt: int) -> float:
    """Seconds before retry ``attempt`` (1-based): exponential, capped, half of it jittered."""
    base = app_settings.WEBHOOKS_RETRY_BASE_SECONDS
    ceiling = min(app_settings.WEBHOOKS_RETRY_MAX_SECONDS, base * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def _claim_seconds() -> float:
    """How long an attempt holds its delivery: past the request's timeout, with a margin."""
    return 2 * app_settings.WEBHOOKS_TIMEOUT_SECONDS + 30


@dataclass(frozen=True)
class AttemptOutcome:
    #: Whether a message was sent (or, from a sandbox, recorded) by this call.
    attempted: bool
    #: Seconds until the delivery is due again (a retry, or a claim held elsewhere), or None.
    retry_in: float | None = None


def webhook_delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> AttemptOutcome:
    """Make one attempt of a delivery if it is due, and record it.

    The claim, the HTTP request and the outcome are three steps: the request
    runs outside any transaction, the outcome is written in one short one.
    From a sandbox workspace the message is recorded (``crmcore.outbound``),
    never sent.
    """
    now = now or timezone.now()
    open_statuses = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status__in=open_statuses, next_attempt_at__lte=now
    ).update(next_attempt_at=now + dt.timedelta(seconds=_claim_seconds()))
    if not claimed:
        due = (
            WebhookDelivery.objects.filter(pk=delivery_id, status__in=open_statuses)
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if due is None:
            return AttemptOutcome(attempted=False)
        return AttemptOutcome(attempted=False, retry_in=max((due - now).total_seconds(), 0.0))
    delivery = (
        WebhookDelivery.objects.select_related("endpoint__workspace").filter(pk=delivery_id).first()
    )
    if delivery is None:  # its endpoint was deleted meanwhile
        return AttemptOutcome(attempted=False)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.CANCELLED, next_attempt_at=None
        )
        return AttemptOutcome(attempted=False)
    body = webhooks.encode_body(
        event=delivery.event,
        payload=delivery.payload.get("data", {}),
        timestamp=delivery.payload.get("timestamp", ""),
    )
    sent = outbound.webhook_send(
        workspace=endpoint.workspace,
        url=endpoint.target_url,
        secret=endpoint.secret,
        message_id=delivery.message_id,
        timestamp=int(time.time()),
        event=delivery.event,
        body=body,
        payload=delivery.payload,
    )
    if sent.result is None:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.WOULD_SEND, next_attempt_at=None
        )
        return AttemptOutcome(attempted=True)
    retry_in = _record_attempt(delivery=delivery, endpoint=endpoint, result=sent.result)
    return AttemptOutcome(attempted=True, retry_in=retry_in)


@transaction.atomic
def _record_attempt(
    *, delivery: WebhookDelivery, endpoint: WebhookEndpoint, result: webhooks.SendResult
) -> float | None:
    now = timezone.now()
    attempts = delivery.attempts + 1
    fields: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": result.status_code,
        "response_excerpt": result.excerpt[: webhooks.EXCERPT_LENGTH],
        "last_error": result.error[:500],
        "next_attempt_at": None,
    }
    if result.ok:
        fields.update(status=WebhookDelivery.Status.SUCCEEDED, delivered_at=now)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        observability.webhook_delivery(outcome="succeeded")
        return None
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    failures = endpoint.consecutive_failures + 1
    disable_reason = ""
    if result.status_code == 410:
        disable_reason = "The target answered 410 Gone"
    elif failures >= app_settings.WEBHOOKS_MAX_CONSECUTIVE_FAILURES:
        disable_reason = f"{failures} consecutive failed deliveries"
    if disable_reason:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            is_active=False, disabled_reason=disable_reason
        )
    delay = None
    if not disable_reason and attempts < app_settings.WEBHOOKS_MAX_ATTEMPTS:
        delay = retry_delay(attempts)
        fields.update(
            status=WebhookDelivery.Status.RETRYING,
            next_attempt_at=now + dt.timedelta(seconds=delay),
        )
    else:
        fields["status"] = WebhookDelivery.Status.FAILED
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    observability.webhook_delivery(outcome="retrying" if delay is not None else "failed")
    return delay
