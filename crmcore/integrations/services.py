"""Writes of the integrations: imports, saved mappings, webhook endpoints and deliveries."""

from __future__ import annotations

import datetime as dt
import io
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from crmcore import events as crm_events
from crmcore import observability
from crmcore.db import planner_statistics_refresh
from crmcore.extensions import ReapReport
from crmcore.integrations import importer, webhooks
from crmcore.integrations.defaults import get_setting
from crmcore.integrations.models import (
    ImportMapping,
    ImportRowError,
    ImportRun,
    WebhookDelivery,
    WebhookEndpoint,
)
from crmcore.models import Workspace

logger = logging.getLogger(__name__)

# Imports ---------------------------------------------------------------------


@transaction.atomic
def import_mapping_save(
    *, workspace: Workspace, name: str, kind: str, mapping: Any, user=None
) -> ImportMapping:
    """Save (or replace) a mapping under ``name``, after validating it for ``kind``."""
    spec = importer.kind_spec(kind)
    importer.parse_mapping(mapping, spec=spec)
    if isinstance(mapping, (str, bytes)):
        import json

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


def import_upload_check(upload: UploadedFile) -> None:
    """ImportInputError when the upload is larger than ``IMPORT_MAX_UPLOAD_BYTES``."""
    limit = int(get_setting("IMPORT_MAX_UPLOAD_BYTES"))
    size = getattr(upload, "size", None) or 0
    if getattr(upload, "too_large", False) or size > limit:
        raise importer.ImportInputError(
            f"The file is larger than the {filesizeformat(limit)} an import may be "
            f"(IMPORT_MAX_UPLOAD_BYTES); split it into smaller files"
        )


@transaction.atomic
def import_run_create(
    *,
    workspace: Workspace,
    kind: str,
    upload: UploadedFile,
    mapping: Any,
    dry_run: bool = False,
    user=None,
) -> ImportRun:
    """Store an uploaded file as an import run and queue it (after commit).

    The kind and mapping are validated first (ImportInputError, nothing stored).
    """
    spec = importer.kind_spec(kind)
    importer.parse_mapping(mapping, spec=spec)
    import_upload_check(upload)
    if isinstance(mapping, (str, bytes)):
        import json

        mapping = json.loads(mapping)
    run = ImportRun(
        workspace=workspace,
        kind=spec.kind,
        mapping=mapping,
        dry_run=dry_run,
        file_name=Path(upload.name or "upload.csv").name[:255],
        created_by=user,
    )
    run.file.save(run.file_name, upload, save=False)
    run.save()
    from crmcore.integrations import tasks

    transaction.on_commit(lambda: tasks.import_run_execute.delay(run.pk))
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
            chunk_size=chunk_size or int(get_setting("IMPORT_CHUNK_SIZE")),
            on_chunk=chunk_done,
            on_start=started,
            on_format=format_known,
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
    from crmcore.integrations import tasks

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
            tasks.import_run_execute.delay(run.pk)
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


SUBSCRIBED_CACHE_KEY = "crmcore:webhooks:subscribed:v1"


def subscribed_events() -> frozenset[tuple[int, str]]:
    """The (workspace id, event name) pairs that have an active endpoint, cached.

    Lets the events listener answer "nobody listens" without a query, so bulk
    jobs emitting many events pay nothing when no hook is subscribed. Flushed
    when an endpoint is saved or deleted; an endpoint disabled by a queryset
    update only leaves a harmless extra query until then.
    """
    pairs = cache.get(SUBSCRIBED_CACHE_KEY)
    if pairs is None:
        pairs = frozenset(
            WebhookEndpoint.objects.filter(is_active=True)
            .values_list("workspace_id", "event")
            .distinct()
        )
        cache.set(SUBSCRIBED_CACHE_KEY, pairs, timeout=None)
    return pairs


def subscribed_events_flush(**kwargs: Any) -> None:
    cache.delete(SUBSCRIBED_CACHE_KEY)


def webhook_deliveries_create(*, event: crm_events.Event) -> list[WebhookDelivery]:
    """One delivery per active endpoint subscribed to ``event`` in its workspace.

    In a sandbox workspace nothing is sent: the delivery is recorded as
    "would have sent". Otherwise the sends are queued after commit. One
    bulk insert, so no explicit transaction (and no savepoint when nobody
    listens).
    """
    if (event.workspace_id, event.name) not in subscribed_events():
        return []
    endpoints = list(
        WebhookEndpoint.objects.filter(
            workspace_id=event.workspace_id, event=event.name, is_active=True
        ).only("pk")
    )
    if not endpoints:
        return []
    status = (
        WebhookDelivery.Status.WOULD_SEND if event.is_sandbox else WebhookDelivery.Status.PENDING
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint_id=endpoint.pk,
                message_id=webhooks.new_message_id(),
                event=event.name,
                payload={
                    "type": event.name,
                    "timestamp": timezone.now().isoformat(),
                    "data": event.payload,
                },
                status=status,
            )
            for endpoint in endpoints
        ]
    )
    if not event.is_sandbox:
        from crmcore.integrations import tasks

        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: [tasks.webhook_deliver.delay(pk) for pk in ids])
    return deliveries


def retry_delay(attempt: int) -> float:
    """Seconds before retry ``attempt`` (1-based): exponential, capped, half of it jittered."""
    base = float(get_setting("WEBHOOKS_RETRY_BASE_SECONDS"))
    ceiling = min(float(get_setting("WEBHOOKS_RETRY_MAX_SECONDS")), base * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def webhook_delivery_attempt(*, delivery_id: int) -> float | None:
    """Send one attempt of a delivery and record it; the seconds to wait before a retry, or None.

    The HTTP request runs outside any transaction; the outcome is written in
    one short transaction afterwards.
    """
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status not in (
        WebhookDelivery.Status.PENDING,
        WebhookDelivery.Status.RETRYING,
    ):
        return None
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.CANCELLED, next_retry_at=None
        )
        return None
    body = webhooks.encode_body(
        event=delivery.event,
        payload=delivery.payload.get("data", {}),
        timestamp=delivery.payload.get("timestamp", ""),
    )
    result = webhooks.send(
        url=endpoint.target_url,
        secret=endpoint.secret,
        message_id=delivery.message_id,
        timestamp=int(time.time()),
        body=body,
    )
    return _record_attempt(delivery=delivery, endpoint=endpoint, result=result)


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
        "next_retry_at": None,
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
    elif failures >= int(get_setting("WEBHOOKS_MAX_CONSECUTIVE_FAILURES")):
        disable_reason = f"{failures} consecutive failed deliveries"
    if disable_reason:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            is_active=False, disabled_reason=disable_reason
        )
    delay = None
    if not disable_reason and attempts < int(get_setting("WEBHOOKS_MAX_ATTEMPTS")):
        delay = retry_delay(attempts)
        fields.update(
            status=WebhookDelivery.Status.RETRYING,
            next_retry_at=now + dt.timedelta(seconds=delay),
        )
    else:
        fields["status"] = WebhookDelivery.Status.FAILED
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    observability.webhook_delivery(outcome="retrying" if delay is not None else "failed")
    return delay
