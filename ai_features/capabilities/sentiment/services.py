"""Writes of the sentiment capability: analysis, corrections, training, alerts."""

from __future__ import annotations

import json
import logging
import multiprocessing
import random
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Substr
from django.utils import timezone

from ai_features import gate
from ai_features.capabilities.sentiment import selectors
from ai_features.capabilities.sentiment.analysis import (
    TONES,
    AnalysisOptions,
    SentimentResult,
    ToneModel,
    analyze_text,
    analyze_texts,
    apply_model,
    content_hash,
    interaction_text,
    score,
)
from ai_features.capabilities.sentiment.artifacts import artifact_load, artifact_save
from ai_features.capabilities.sentiment.conf import app_settings
from ai_features.capabilities.sentiment.models import (
    InteractionSentiment,
    SentimentAlert,
    SentimentModel,
    ToneCorrection,
)
from ai_features.jobs import job_run
from ai_features.scheduling import job_queue
from ai_features.services import suggestion_event_record
from crmcore.db import adapt_datetime, planner_statistics_refresh, upsert
from crmcore.events import emit_on_commit
from crmcore.models import Interaction, Workspace

logger = logging.getLogger(__name__)

CAPABILITY = "sentiment"
JOB_NAME = "analyze_sentiment"
#: A run that writes at least this many results refreshes the planner's statistics.
BULK_ROWS = 1000
#: Share of the corrections kept aside to measure accuracy on the model card.
HOLDOUT_FRACTION = 0.25


class SentimentRow(NamedTuple):
    """One interaction's result, as written by :func:`crmcore.db.upsert`."""

    workspace_id: int
    interaction_id: int
    contact_id: int
    occurred_at: Any  # a driver value (crmcore.db.adapt_datetime)
    content_hash: str
    polarity: float
    subjectivity: float
    tone: str
    base_tone: str
    explanation: str  # JSON, encoded
    reason: str
    model_version: int | None
    analyzed_at: Any  # a driver value


class SentimentDisabled(Exception):
    """The capability is off for this workspace (kill switch or flag)."""


@dataclass(frozen=True)
class AnalyzeSummary:
    total: int
    analysed: int
    unchanged: int
    alerts: int
    job_id: int | None = None


def analysis_options() -> AnalysisOptions:
    return AnalysisOptions(
        max_length=app_settings.MAX_TEXT_LENGTH,
        positive_threshold=app_settings.POSITIVE_THRESHOLD,
        negative_threshold=app_settings.NEGATIVE_THRESHOLD,
    )


def tone_model_for(*, workspace_id: int) -> tuple[ToneModel | None, int | None]:
    """The workspace's published model (lazily loaded, cached per process)."""
    ref = selectors.active_model_ref(workspace_id=workspace_id)
    if ref is None:
        return None, None
    version, path = ref
    return artifact_load(workspace_id=workspace_id, version=version, path=path), version


def sentiment_analyze_text(*, text: Any, workspace: Workspace) -> SentimentResult:
    """One text, with the workspace's learned model blended in when it has one."""
    options = analysis_options()
    result = analyze_text(text, options)
    model, version = tone_model_for(workspace_id=workspace.pk)
    if model is None or not result.analysed:
        return result
    return apply_model([result], [text], model, version, options)[0]


# --------------------------------------------------------------------------- batch analysis


@dataclass(frozen=True)
class _ChunkContext:
    """What analysing a chunk needs besides its texts (small; sent per chunk)."""

    workspace_id: int
    model_version: int | None
    options: AnalysisOptions
    analyzed_at: Any

    @classmethod
    def now(
        cls, workspace: Workspace, version: int | None, options: AnalysisOptions
    ) -> _ChunkContext:
        """The context of a chunk analysed now."""
        return cls(
            workspace_id=workspace.pk,
            model_version=version,
            options=options,
            analyzed_at=adapt_datetime(timezone.now()),
        )


# A worker process's copy of the workspace model, set once when the pool
# starts rather than sent with every chunk.
_worker_model: ToneModel | None = None


def _worker_init(model: ToneModel | None) -> None:
    global _worker_model
    _worker_model = model


def _analyse_rows(
    todo: list[tuple[int, int, Any, str, str]],
    corrections: dict[int, tuple[str, str]],
    context: _ChunkContext,
    model: ToneModel | None,
) -> list[SentimentRow]:
    """Analyse a chunk into rows ready for :func:`crmcore.db.upsert`.

    Plain data in, plain data out: runs in this process or in a worker, which
    does everything but the database work (analysis, the learned model, a
    user's correction of the same text, JSON encoding).
    """
    options = context.options
    texts = [item[3] for item in todo]
    results = apply_model(
        analyze_texts(texts, options), texts, model, context.model_version, options
    )
    rows = []
    for (pk, contact_id, occurred_at, text, digest), result in zip(todo, results, strict=True):
        tone = result.tone
        correction = corrections.get(pk)
        if correction is not None and correction[0] == text:
            tone = correction[1]
        rows.append(
            SentimentRow(
                context.workspace_id,
                pk,
                contact_id,
                occurred_at,
                digest,
                result.polarity,
                result.subjectivity,
                tone,
                result.base_tone,
                json.dumps(result.explanation),
                result.reason[:250],
                context.model_version,
                context.analyzed_at,
            )
        )
    return rows


def _sentiment_upsert(rows: list[SentimentRow]) -> None:
    upsert(InteractionSentiment, rows, unique=("interaction_id",))


def _analyse_rows_in_worker(
    todo: list[tuple[int, int, Any, str, str]],
    corrections: dict[int, tuple[str, str]],
    context: _ChunkContext,
) -> list[SentimentRow]:
    return _analyse_rows(todo, corrections, context, _worker_model)


def _rows(workspace: Workspace, interaction_ids: list[int] | None, max_length: int) -> Iterator:
    qs = gate.profiled(Interaction.objects.in_workspace(workspace), "contact__")
    if interaction_ids is not None:
        qs = qs.filter(pk__in=interaction_ids)
    # Only what is analysed leaves the database (a huge body costs no memory),
    # with what was analysed last time (the content hash and model version).
    return (
        qs.order_by("pk")
        .annotate(head=Substr("body", 1, max_length + 1))
        .values_list("pk", "subject", "head", "sentiment__content_hash", "sentiment__model_version")
        .iterator(chunk_size=2000)
    )


def _meta(interaction_ids: list[int]) -> dict[int, tuple[int, Any]]:
    """Contact and date of the interactions about to be analysed (one query)."""
    rows = (
        Interaction.objects.filter(pk__in=interaction_ids)
        .order_by()
        .values_list("pk", "contact_id", "occurred_at")
    )
    return {pk: (contact_id, adapt_datetime(occurred_at)) for pk, contact_id, occurred_at in rows}


def _chunks(rows: Iterator, size: int) -> Iterator[list]:
    chunk: list = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def sentiment_analyze_interactions(
    *,
    workspace: Workspace,
    interaction_ids: list[int] | None = None,
    reanalyze: bool = False,
    workers: int | None = None,
    progress: Any = None,
    check_gate: bool = True,
) -> AnalyzeSummary:
    """Analyse a workspace's interactions (or some of them) in chunks.

    Incremental: an interaction is analysed again only when its text changed
    (its content hash) or a new model was published, unless ``reanalyze``.
    Each chunk is one bulk upsert; progress goes to the job run and to an
    optional tqdm bar. With ``workers`` > 1 a process pool analyses chunks
    while this process writes. Then checks the touched contacts for alerts.
    """
    if check_gate and not (decision := gate.jobs_allowed(CAPABILITY, workspace)):
        raise SentimentDisabled(decision.reason)
    options = analysis_options()
    chunk_size = app_settings.CHUNK_SIZE
    workers = int(workers or app_settings.WORKERS)
    model, version = tone_model_for(workspace_id=workspace.pk)
    qs = gate.profiled(Interaction.objects.in_workspace(workspace), "contact__")
    if interaction_ids is not None:
        qs = qs.filter(pk__in=interaction_ids)
    total = qs.count()
    if progress is not None:
        progress.total = total
        progress.refresh()
    analysed = 0
    touched: set[int] = set()
    pool = None
    if workers > 1:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        pool = multiprocessing.get_context(method).Pool(
            workers, initializer=_worker_init, initargs=(model,)
        )
    try:
        with job_run(
            name=JOB_NAME,
            capability=CAPABILITY,
            workspace=workspace,
            total=total,
            progress=progress,
        ) as job:
            # Chunks sent to the pool, oldest first: (rows or their future, size).
            pending: deque[tuple[Any, int]] = deque()

            def finish(rows: Any, size: int) -> None:
                _sentiment_upsert(rows.get() if pool is not None else rows)
                job.advance(size)

            for chunk in _chunks(_rows(workspace, interaction_ids, options.max_length), chunk_size):
                changed = []
                for pk, subject, head, old_hash, old_version in chunk:
                    text = interaction_text(subject, head)[: options.max_length + 1]
                    digest = content_hash(text)
                    if reanalyze or old_hash != digest or old_version != version:
                        changed.append((pk, text, digest))
                if not changed:
                    job.advance(len(chunk))
                    continue
                ids = [c[0] for c in changed]
                meta = _meta(ids)
                todo = []
                for pk, text, digest in changed:
                    contact_id, occurred_at = meta[pk]
                    todo.append((pk, contact_id, occurred_at, text, digest))
                    touched.add(contact_id)
                analysed += len(todo)
                corrections = selectors.latest_corrections(interaction_ids=ids)
                context = _ChunkContext.now(workspace, version, options)
                if pool is None:
                    finish(_analyse_rows(todo, corrections, context, model), len(chunk))
                    continue
                # Workers analyse the next chunks while this process writes.
                future = pool.apply_async(_analyse_rows_in_worker, (todo, corrections, context))
                pending.append((future, len(chunk)))
                while len(pending) > 2 * workers:
                    finish(*pending.popleft())
            while pending:
                finish(*pending.popleft())
            if analysed >= BULK_ROWS:
                planner_statistics_refresh(models=[InteractionSentiment])
            alerts = sentiment_alerts_check(workspace=workspace, contact_ids=sorted(touched))
            job.set_result(analysed=analysed, unchanged=total - analysed, alerts=len(alerts))
            job_id = job.run.pk
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return AnalyzeSummary(
        total=total,
        analysed=analysed,
        unchanged=total - analysed,
        alerts=len(alerts),
        job_id=job_id,
    )


# --------------------------------------------------------------------------- alerts


@transaction.atomic
def sentiment_alerts_check(*, workspace: Workspace, contact_ids: list[int]) -> list[SentimentAlert]:
    """Raise an alert for each contact whose recent tone fell below their baseline.

    Recent: mean polarity of their last ALERT_RECENT_WINDOW interactions;
    baseline: the mean of up to ALERT_BASELINE_WINDOW before those (at least
    ALERT_BASELINE_MIN). A contact with an open alert, or whose last alert is
    newer than their last interaction, gets none.
    """
    if not contact_ids:
        return []
    recent_n = app_settings.ALERT_RECENT_WINDOW
    baseline_n = app_settings.ALERT_BASELINE_WINDOW
    baseline_min = app_settings.ALERT_BASELINE_MIN
    threshold = app_settings.ALERT_DROP_THRESHOLD
    history = selectors.alert_history(workspace=workspace, contact_ids=contact_ids)
    series = selectors.recent_polarities(
        workspace=workspace, contact_ids=contact_ids, per_contact=recent_n + baseline_n
    )
    alerts = []
    for contact_id, points in series.items():
        if contact_id in history["open"] or len(points) < recent_n + baseline_min:
            continue
        last_alert = history["latest"].get(contact_id)
        if last_alert is not None and points[0][1] <= last_alert:
            continue
        recent = fmean(p for p, _ in points[:recent_n])
        baseline = fmean(p for p, _ in points[recent_n:])
        if baseline - recent >= threshold:
            alerts.append(
                SentimentAlert(
                    workspace=workspace,
                    contact_id=contact_id,
                    baseline_polarity=round(baseline, 4),
                    recent_polarity=round(recent, 4),
                    recent_count=recent_n,
                    baseline_count=len(points) - recent_n,
                )
            )
    SentimentAlert.objects.bulk_create(alerts)
    for alert in alerts:
        emit_on_commit(
            "contact.sentiment_dropped",
            workspace=workspace,
            payload={
                "contact_id": alert.contact_id,
                "baseline_polarity": alert.baseline_polarity,
                "recent_polarity": alert.recent_polarity,
                "drop": round(alert.drop, 4),
            },
        )
    return alerts


@transaction.atomic
def sentiment_alert_acknowledge(*, alert: SentimentAlert, user) -> SentimentAlert:
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = user
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert


# --------------------------------------------------------------------------- corrections


@transaction.atomic
def tone_correction_create(
    *, workspace: Workspace, interaction: Interaction, to_tone: str, user
) -> ToneCorrection:
    """Record a user's tone for an interaction and show it from now on.

    Audited (who, when, from, to), counted as a "corrected" pilot metric, and
    once enough corrections exist the workspace's model is trained again
    after commit.
    """
    if to_tone not in TONES:
        raise ValueError(f"Unknown tone {to_tone!r}")
    if interaction.workspace_id != workspace.pk:
        raise ValueError("The interaction belongs to another workspace")
    options = analysis_options()
    text = interaction_text(interaction.subject, interaction.body)
    sentiment = InteractionSentiment.objects.filter(interaction=interaction).first()
    if sentiment is None:
        head = text[: options.max_length + 1]
        model, version = tone_model_for(workspace_id=workspace.pk)
        item = (
            interaction.pk,
            interaction.contact_id,
            adapt_datetime(interaction.occurred_at),
            head,
            content_hash(head),
        )
        context = _ChunkContext.now(workspace, version, options)
        _sentiment_upsert(_analyse_rows([item], {}, context, model))
        sentiment = InteractionSentiment.objects.get(interaction=interaction)
    correction = ToneCorrection.objects.create(
        workspace=workspace,
        interaction=interaction,
        text=text[: options.max_length + 1],
        from_tone=sentiment.tone,
        to_tone=to_tone,
        corrected_by=user,
    )
    sentiment.tone = to_tone
    sentiment.save(update_fields=["tone"])
    suggestion_event_record(
        capability=CAPABILITY,
        action="corrected",
        user=user,
        workspace=workspace,
        obj=interaction,
        detail={"from": correction.from_tone, "to": to_tone},
    )
    if sentiment_model_due(workspace=workspace):
        job_queue(CAPABILITY, "train", workspace=workspace)
    return correction


def sentiment_model_due(*, workspace: Workspace) -> bool:
    """Enough corrections for a first model, or enough new ones since the last."""
    count = selectors.correction_count(workspace=workspace)
    if count < app_settings.MIN_CORRECTIONS:
        return False
    last = SentimentModel.objects.filter(workspace=workspace).aggregate(at=Max("created_at"))["at"]
    if last is None:
        return True
    new = ToneCorrection.objects.filter(workspace=workspace, created_at__gt=last).count()
    return new >= app_settings.RETRAIN_EVERY


# --------------------------------------------------------------------------- training


def holdout_split(labels: Sequence[str], fraction: float, seed: int = 0) -> tuple[list, list]:
    """Indexes for training and held-out evaluation, stratified by tone."""
    by_tone: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_tone[label].append(index)
    rng = random.Random(seed)
    train, held_out = [], []
    for tone in sorted(by_tone):
        indexes = by_tone[tone]
        rng.shuffle(indexes)
        n_out = round(len(indexes) * fraction) if len(indexes) > 1 else 0
        held_out += indexes[:n_out]
        train += indexes[n_out:]
    return sorted(train), sorted(held_out)


def tone_model_evaluate(
    *,
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    test_texts: Sequence[str],
    test_labels: Sequence[str],
    blend_weight: float | None = None,
) -> dict[str, Any]:
    """Fit on one set, score TextBlob alone and the blend on the other."""
    options = analysis_options()
    weight = app_settings.BLEND_WEIGHT if blend_weight is None else float(blend_weight)
    train_bases = analyze_texts(train_texts, options)
    test_bases = analyze_texts(test_texts, options)
    model = ToneModel(blend_weight=weight).fit(train_texts, train_bases, train_labels)
    blended = apply_model(test_bases, list(test_texts), model, 0, options)
    return {
        "model": model,
        "before": score(test_labels, [r.tone for r in test_bases]),
        "after": score(test_labels, [r.tone for r in blended]),
    }


@transaction.atomic
def sentiment_model_train(*, workspace: Workspace, user=None) -> SentimentModel | None:
    """Train the workspace's tone model on its corrections; publish it if it helps.

    Accuracy before/after is measured on held-out corrections; the published
    artifact is then fitted on all of them. Returns None with too few.
    """
    data = selectors.correction_training_set(workspace=workspace)
    labels = [tone for _, tone, _ in data]
    if len(data) < app_settings.MIN_CORRECTIONS or len(set(labels)) < 2:
        return None
    texts = [text for text, _, _ in data]
    train, held_out = holdout_split(labels, HOLDOUT_FRACTION)
    if len({labels[i] for i in train}) < 2:
        return None
    evaluation = tone_model_evaluate(
        train_texts=[texts[i] for i in train],
        train_labels=[labels[i] for i in train],
        test_texts=[texts[i] for i in held_out],
        test_labels=[labels[i] for i in held_out],
    )
    before, after = evaluation["before"], evaluation["after"]
    model = evaluation["model"].fit(texts, analyze_texts(texts, analysis_options()), labels)
    last = (
        SentimentModel.objects.select_for_update()
        .filter(workspace=workspace)
        .aggregate(v=Max("version"))["v"]
    )
    version = (last or 0) + 1
    path = artifact_save(model=model, workspace_id=workspace.pk, version=version)
    publish = after["accuracy"] >= before["accuracy"]
    if publish:
        SentimentModel.objects.filter(workspace=workspace, is_active=True).update(is_active=False)
    card = SentimentModel.objects.create(
        workspace=workspace,
        version=version,
        artifact=path,
        is_active=publish,
        trained_on=len(data),
        held_out=len(held_out),
        accuracy_before=before["accuracy"],
        accuracy_after=after["accuracy"],
        macro_f1_before=before["macro_f1"],
        macro_f1_after=after["macro_f1"],
        blend_weight=model.blend_weight,
        data_from=min(created for _, _, created in data),
        data_to=max(created for _, _, created in data),
        trained_by=user if getattr(user, "is_authenticated", False) else None,
    )
    if publish:
        # Tones of analysed interactions follow the new model (incremental run).
        job_queue(CAPABILITY, "analyze", workspace=workspace)
    return card
