"""Writes of the prediction capability: training, publishing, scoring, audits, feedback."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, NamedTuple

import joblib
import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from ai_features import gate
from ai_features.capabilities.prediction import bias
from ai_features.capabilities.prediction.conf import app_settings
from ai_features.capabilities.prediction.explain import describe
from ai_features.capabilities.prediction.features import BASE_FEATURES, HORIZON_DAYS, extract_raw
from ai_features.capabilities.prediction.models import (
    BiasAudit,
    ContactNextNeeds,
    ContactScore,
    ModelVersion,
    SensitiveAttribute,
)
from ai_features.capabilities.prediction.next_needs import NextNeedModel, purchase_histories
from ai_features.capabilities.prediction.selectors import (
    model_version_live,
    sensitive_attribute_names,
)
from ai_features.capabilities.prediction.training import InsufficientHistory, train
from ai_features.scheduling import job_queue
from ai_features.services import suggestion_event_record
from crmcore import services as crm_services
from crmcore.db import adapt_datetime, planner_statistics_refresh, upsert
from crmcore.events import emit_on_commit
from crmcore.models import Contact, Deal, Product, Task, Team, Workspace

HIGH_RISK_EVENT = "contact.churn_risk_high"
TOP_FACTORS = 3
_COL = {name: i for i, name in enumerate(BASE_FEATURES)}

# ---------------------------------------------------------------- artifacts


_artifacts: OrderedDict[tuple[int, str], dict[str, Any]] = OrderedDict()
_artifacts_lock = threading.Lock()
ARTIFACT_CACHE_SIZE = 8


def artifact_save(*, version: ModelVersion, payload: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    joblib.dump(payload, buffer, compress=3)
    version.artifact.save("model.joblib", ContentFile(buffer.getvalue()), save=False)


def artifact_load(version: ModelVersion) -> dict[str, Any]:
    """The version's models, loaded lazily from storage and cached per process."""
    key = (version.pk, version.artifact.name)
    with _artifacts_lock:
        if key in _artifacts:
            _artifacts.move_to_end(key)
            return _artifacts[key]
    with default_storage.open(version.artifact.name, "rb") as handle:
        payload = joblib.load(handle)
    with _artifacts_lock:
        _artifacts[key] = payload
        while len(_artifacts) > ARTIFACT_CACHE_SIZE:
            _artifacts.popitem(last=False)
    return payload


# ---------------------------------------------------------------- training


def _next_number(workspace: Workspace, kind: str = ModelVersion.Kind.CHURN) -> int:
    latest = ModelVersion.objects.filter(workspace=workspace, kind=kind).aggregate(n=Max("number"))[
        "n"
    ]
    return (latest or 0) + 1


def model_version_train(
    *, workspace: Workspace, user=None, as_of: dt.datetime | None = None
) -> ModelVersion:
    """Train a new version, store it, and publish it if it passes the quality gate.

    Fitting happens outside a transaction (it can take a while); the version's
    rows are then written atomically. With too little history the version is
    recorded as ``insufficient`` with a plain message, and nothing changes.
    """
    as_of = as_of or timezone.now() - dt.timedelta(days=HORIZON_DAYS)
    try:
        result = train(workspace=workspace, as_of=as_of)
    except InsufficientHistory as exc:
        return _model_version_record_insufficient(
            workspace=workspace, user=user, as_of=as_of, message=str(exc)
        )
    return _model_version_record(workspace=workspace, user=user, result=result)


@transaction.atomic
def _model_version_record_insufficient(
    *, workspace: Workspace, user, as_of: dt.datetime, message: str
) -> ModelVersion:
    return ModelVersion.objects.create(
        workspace=workspace,
        number=_next_number(workspace),
        status=ModelVersion.Status.INSUFFICIENT,
        as_of=as_of,
        notes=message,
        trained_by=user if getattr(user, "is_authenticated", False) else None,
    )


@transaction.atomic
def _model_version_record(*, workspace: Workspace, user, result) -> ModelVersion:
    passed = result.metrics["auc"] >= app_settings.MIN_AUC
    version = ModelVersion(
        workspace=workspace,
        number=_next_number(workspace),
        status=ModelVersion.Status.PUBLISHED if passed else ModelVersion.Status.REJECTED,
        as_of=result.as_of,
        data_start=result.data_start,
        data_end=result.data_end,
        feature_names=result.churn.feature_names,
        coefficients=[round(float(c), 6) for c in result.churn.coef],
        intercept=result.churn.intercept,
        metrics={**result.metrics, "min_auc": app_settings.MIN_AUC},
        notes=result.notes,
        trained_by=user if getattr(user, "is_authenticated", False) else None,
    )
    artifact_save(
        version=version,
        payload={
            "churn": result.churn,
            "next_products": result.next_products,
            "holdout": result.holdout,
        },
    )
    version.save()
    if passed:
        _make_live(version)
        bias_audit_run(version=version)
    return version


def _make_live(version: ModelVersion) -> None:
    ModelVersion.objects.filter(
        workspace_id=version.workspace_id, kind=version.kind, is_live=True
    ).exclude(pk=version.pk).update(is_live=False)
    version.is_live = True
    version.status = ModelVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.save(update_fields=["is_live", "status", "published_at"])


@transaction.atomic
def model_version_publish(*, version: ModelVersion, user) -> ModelVersion:
    """Make an earlier published version live again (a rollback)."""
    if not version.artifact or version.status not in (
        ModelVersion.Status.PUBLISHED,
        ModelVersion.Status.RETIRED,
    ):
        raise ValueError("Only a version that passed the quality gate can be published.")
    _make_live(version)
    if version.kind == ModelVersion.Kind.WIN:
        if not version.bias_audits.exists():
            deal_bias_audit_run(version=version)
        job_queue("prediction", "score_deals", workspace=version.workspace)
        return version
    if not version.bias_audits.exists():
        bias_audit_run(version=version)
    job_queue("prediction", "score_contacts", workspace=version.workspace)
    return version


# ---------------------------------------------------------------- bias audit


def deal_groups(deal_ids: list[int]) -> dict[str, list[str]]:
    """Owner team, region and segment of each deal, in ``deal_ids`` order (three queries)."""
    rows = {
        r["pk"]: r
        for r in Deal.objects.filter(pk__in=deal_ids).values(
            "pk", "owner_id", "account__region", "contact__region", "contact__segment"
        )
    }
    owners = {r["owner_id"] for r in rows.values() if r["owner_id"]}
    teams: dict[int, str] = {}
    for team_name, user_id in (
        Team.members.through.objects.filter(user_id__in=owners)
        .order_by("team__name")
        .values_list("team__name", "user_id")
    ):
        teams.setdefault(user_id, team_name)

    def value(v: Any) -> str:
        return str(v) if v not in (None, "") else "(unknown)"

    columns: dict[str, list[str]] = {"owner team": [], "region": [], "segment": []}
    for pk in deal_ids:
        r = rows.get(pk, {})
        owner = r.get("owner_id")
        columns["owner team"].append(value(teams.get(owner) if owner else None))
        columns["region"].append(value(r.get("account__region") or r.get("contact__region")))
        columns["segment"].append(value(r.get("contact__segment")))
    return columns


@transaction.atomic
def deal_bias_audit_run(*, version: ModelVersion) -> BiasAudit:
    """Selection rates (a high win probability), true- and false-positive rates by group."""
    holdout = artifact_load(version)["holdout"]
    threshold = app_settings.WIN_HIGH
    rows, warnings = bias.audit(
        y=np.asarray(holdout["y"]),
        p=np.asarray(holdout["p"]),
        z=np.asarray(holdout["z"]),
        groups=deal_groups(list(holdout["deal_ids"])),
        sensitive=[],
        feature_names=version.feature_names,
        coefficients=version.coefficients,
        threshold=threshold,
    )
    return BiasAudit.objects.create(
        model_version=version, threshold=threshold, groups=rows, warnings=warnings
    )


@transaction.atomic
def bias_audit_run(*, version: ModelVersion) -> BiasAudit:
    payload = artifact_load(version)
    holdout = payload["holdout"]
    workspace = version.workspace
    sensitive = sensitive_attribute_names(workspace=workspace)
    attributes = ["region", "segment", *[s for s in sensitive if s not in ("region", "segment")]]
    groups = bias.group_values(list(holdout["contact_ids"]), attributes)
    threshold = app_settings.HIGH_RISK
    rows, warnings = bias.audit(
        y=np.asarray(holdout["y"]),
        p=np.asarray(holdout["p"]),
        z=np.asarray(holdout["z"]),
        groups=groups,
        sensitive=sensitive,
        feature_names=version.feature_names,
        coefficients=version.coefficients,
        threshold=threshold,
    )
    return BiasAudit.objects.create(
        model_version=version, threshold=threshold, groups=rows, warnings=warnings
    )


@transaction.atomic
def sensitive_attribute_set(*, workspace: Workspace, name: str, sensitive: bool) -> None:
    name = name.strip()
    if not name:
        raise ValueError("An attribute name is required.")
    if sensitive:
        SensitiveAttribute.objects.get_or_create(workspace=workspace, name=name)
    else:
        SensitiveAttribute.objects.filter(workspace=workspace, name=name).delete()


# ---------------------------------------------------------------- scoring


def band_thresholds() -> tuple[float, float]:
    """The probabilities from which a score is high risk and medium risk (settings)."""
    return app_settings.HIGH_RISK, app_settings.MEDIUM_RISK


def band_of(probability: float, thresholds: tuple[float, float] | None = None) -> str:
    high, medium = thresholds or band_thresholds()
    if probability >= high:
        return ContactScore.Band.HIGH
    if probability >= medium:
        return ContactScore.Band.MEDIUM
    return ContactScore.Band.LOW


def next_action(
    *, tickets: int, negative: int, band: str, products: list[dict[str, Any]], top_reason: str
) -> dict[str, str]:
    """The rep's next best action for one contact, from its tickets and negative
    interactions of the last 30 days, its risk band and its next products."""
    if negative or tickets:
        what = (
            f"{negative} negative interaction{'s' if negative != 1 else ''}"
            if negative
            else f"{tickets} ticket{'s' if tickets != 1 else ''}"
        )
        return {"kind": "follow_up", "text": f"Follow up on the complaint: {what} this month"}
    if band == ContactScore.Band.HIGH:
        return {"kind": "call", "text": f"Call: {top_reason}" if top_reason else "Call"}
    if products:
        return {"kind": "offer", "text": f"Offer {products[0]['name']}"}
    return {"kind": "check_in", "text": "Check in"}


@dataclass
class ScoringResult:
    scored: int = 0
    high: int = 0
    crossed_high: int = 0


def _id_ranges(*, workspace: Workspace, chunk_size: int, customers_only: bool = True):
    """Contiguous id ranges of at most ``chunk_size`` current customers (or contacts) each."""
    last = 0
    base = gate.profiled(Contact.objects.in_workspace(workspace))
    if customers_only:
        base = base.filter(lifecycle_stage=Contact.Stage.CUSTOMER)
    while True:
        ids = list(
            base.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:chunk_size]
        )
        if not ids:
            return
        yield ids[0], ids[-1], len(ids)
        last = ids[-1]


def contacts_score(
    *, workspace: Workspace, chunk_size: int | None = None, on_chunk=None
) -> ScoringResult:
    """Score every current customer of the workspace with the live version, chunk by chunk.

    A contact whose previous score was below the high band and whose new one is in
    it emits ``contact.churn_risk_high`` after commit (a first score emits nothing).
    Idempotent: each chunk replaces the chunk's scores (one bulk upsert); scores of
    contacts that are no longer customers are dropped at the end. ``on_chunk(n)`` reports progress.
    """
    version = model_version_live(workspace=workspace)
    if version is None:
        raise InsufficientHistory("No published churn model for this workspace yet.")
    payload = artifact_load(version)
    chunk_size = chunk_size or app_settings.CHUNK_SIZE
    result = ScoringResult()
    now = timezone.now()
    for lo, hi, _ in _id_ranges(workspace=workspace, chunk_size=chunk_size):
        chunk = contact_scores_write(
            workspace=workspace, version=version, payload=payload, id_range=(lo, hi), as_of=now
        )
        result.scored += chunk.scored
        result.high += chunk.high
        result.crossed_high += chunk.crossed_high
        if on_chunk is not None:
            on_chunk(chunk.scored)
    contact_scores_prune(workspace=workspace)
    planner_statistics_refresh(models=[ContactScore])
    return result


@transaction.atomic
def contact_scores_prune(*, workspace: Workspace) -> int:
    """Drop the scores of contacts that are no longer current customers, or that
    object to profiling (one query)."""
    deleted, _ = (
        ContactScore.objects.filter(workspace=workspace)
        .filter(
            ~Q(contact__lifecycle_stage=Contact.Stage.CUSTOMER) | Q(contact__do_not_profile=True)
        )
        .delete()
    )
    return deleted


class ScoreRow(NamedTuple):
    """One contact's score, as written by :func:`crmcore.db.upsert`."""

    workspace_id: int
    contact_id: int
    model_version_id: int
    probability: float
    log_odds: float
    band: str
    factors: str  # JSON, encoded
    rest: float
    next_products: str  # JSON, encoded
    next_action: str  # JSON, encoded
    scored_at: Any  # a driver value (crmcore.db.adapt_datetime)


@dataclass
class TopFactors:
    """The factors shown for each scored contact, strongest first (n rows)."""

    columns: np.ndarray  # (n, 2k) feature columns; the first counts[i] are shown
    values: np.ndarray  # (n, 2k) their contributions to the log-odds
    inputs: np.ndarray  # (n, 2k) the feature values behind them
    counts: np.ndarray  # (n,) how many factors are shown
    raising: np.ndarray  # (n,) position of the strongest raising factor, -1 if none
    total: np.ndarray  # (n,) exact sum of the shown contributions


def top_factors(matrix: np.ndarray, contributions: np.ndarray, k: int) -> TopFactors:
    """Up to ``k`` factors raising and ``k`` lowering each score, strongest first.

    Set-based over a chunk: the ``k`` largest positive and ``k`` most negative
    contributions of each row, ordered by their absolute size.
    """
    n = contributions.shape[0]
    order = np.argsort(contributions, axis=1, kind="stable")
    candidates = np.concatenate([order[:, ::-1][:, :k], order[:, :k]], axis=1)
    values = np.take_along_axis(contributions, candidates, axis=1)
    width = candidates.shape[1]
    shown = np.concatenate([values[:, : width // 2] > 0, values[:, width // 2 :] < 0], axis=1)
    # Shown ones first, by size; a stable sort keeps raising before lowering on ties.
    rank = np.argsort(np.where(shown, -np.abs(values), np.inf), axis=1, kind="stable")
    candidates = np.take_along_axis(candidates, rank, axis=1)
    values = np.take_along_axis(values, rank, axis=1)
    shown = np.take_along_axis(shown, rank, axis=1)
    raising = shown & (values > 0)
    inputs = matrix[np.arange(n)[:, None], candidates]
    return TopFactors(
        columns=candidates,
        values=values,
        inputs=inputs,
        counts=shown.sum(axis=1),
        raising=np.where(raising.any(axis=1), raising.argmax(axis=1), -1),
        total=np.where(shown, values, 0.0).sum(axis=1),
    )


@transaction.atomic
def contact_scores_write(
    *,
    workspace: Workspace,
    version: ModelVersion,
    payload: dict[str, Any],
    id_range: tuple[int, int],
    as_of: dt.datetime,
) -> ScoringResult:
    """Compute and write the scores of the customers in one id range."""
    churn = payload["churn"]
    raw = extract_raw(
        workspace=workspace, as_of=as_of, stages=(Contact.Stage.CUSTOMER,), id_range=id_range
    )
    if not len(raw):
        return ScoringResult()
    matrix, contributions = churn.contributions(raw)
    log_odds = contributions.sum(axis=1) + churn.intercept
    probability = 1.0 / (1.0 + np.exp(-log_odds))
    factors = top_factors(matrix, contributions, TOP_FACTORS)
    # Next products are the contact's stored next needs (the next-needs job runs first).
    stored = dict(
        ContactNextNeeds.objects.filter(
            workspace=workspace, contact_id__gte=id_range[0], contact_id__lte=id_range[1]
        ).values_list("contact_id", "needs")
    )
    previous = dict(
        ContactScore.objects.filter(
            workspace=workspace, contact_id__gte=id_range[0], contact_id__lte=id_range[1]
        ).values_list("contact_id", "band")
    )
    names = churn.feature_names
    scored_at = adapt_datetime(as_of)
    high, medium = band_thresholds()
    # Python lists: indexing numpy arrays one value at a time costs more than
    # the arithmetic itself.
    rest_list = (log_odds - churn.intercept - factors.total).tolist()
    log_odds_list, probability_list = log_odds.tolist(), probability.tolist()
    complaints = raw.base[:, [_COL["tickets_30d"], _COL["negative_30d"]]].tolist()
    columns = factors.columns.tolist()
    values = np.round(factors.values, 6).tolist()
    inputs = np.round(factors.inputs, 4).tolist()
    counts, raising = factors.counts.tolist(), factors.raising.tolist()
    rows = []
    result = ScoringResult()
    crossed = []
    for i, contact_id in enumerate(raw.contact_ids):
        n = counts[i]
        picked = list(zip(columns[i][:n], values[i][:n], inputs[i][:n], strict=True))
        products = [
            {"id": need["product_id"], "name": need["product"], "score": need["score"]}
            for need in stored.get(contact_id, ())
        ]
        p = probability_list[i]
        band = band_of(p, thresholds=(high, medium))
        top_up = raising[i]
        reason = (
            describe(names[columns[i][top_up]], factors.inputs[i, top_up]) if top_up >= 0 else ""
        )
        tickets, negative = complaints[i]
        action = next_action(
            tickets=int(tickets),
            negative=int(negative),
            band=band,
            products=products,
            top_reason=reason,
        )
        rows.append(
            ScoreRow(
                workspace.pk,
                contact_id,
                version.pk,
                p,
                log_odds_list[i],
                band,
                json.dumps(picked),
                rest_list[i],
                json.dumps(products),
                json.dumps(action),
                scored_at,
            )
        )
        result.scored += 1
        if band == ContactScore.Band.HIGH:
            result.high += 1
            if previous.get(contact_id) not in (None, ContactScore.Band.HIGH):
                crossed.append({"contact_id": contact_id, "churn_risk": round(p, 4)})
    upsert(ContactScore, rows, unique=("workspace_id", "contact_id"))
    for item in crossed:
        emit_on_commit(
            HIGH_RISK_EVENT,
            workspace=workspace,
            payload={**item, "model_version": version.number},
        )
    result.crossed_high = len(crossed)
    return result


# ---------------------------------------------------------------- next needs

NEXT_NEEDS = 3


class NextNeedsRow(NamedTuple):
    """One contact's next needs, as written by :func:`crmcore.db.upsert`."""

    workspace_id: int
    contact_id: int
    needs: str  # JSON, encoded
    computed_at: Any  # a driver value (crmcore.db.adapt_datetime)


@dataclass
class NextNeedsResult:
    contacts: int = 0
    with_history: int = 0
    kinds: dict[str, int] | None = None


def contact_next_needs_refresh(
    *, workspace: Workspace, chunk_size: int | None = None, on_chunk=None, now=None
) -> NextNeedsResult:
    """Fit the next-need model on the workspace's purchase histories and store the
    next needs of every contact (leads, customers and churned ones alike).

    Chunk by chunk of contact ids, one bulk upsert each; idempotent (each run
    replaces the rows). ``on_chunk(n)`` reports progress.
    """
    now = now or timezone.now()
    histories = purchase_histories(workspace=workspace)
    names = dict(Product.objects.in_workspace(workspace).values_list("pk", "name"))
    model = NextNeedModel.fit(histories, names)
    today = timezone.localtime(now).date().toordinal()
    computed_at = adapt_datetime(now)
    # Contacts with no purchase get the same (popular) needs: encoded once.
    no_history = _needs_json(model, [], today)
    kinds: dict[str, int] = {}
    result = NextNeedsResult(kinds=kinds)
    chunk_size = chunk_size or app_settings.CHUNK_SIZE
    for lo, hi, _ in _id_ranges(workspace=workspace, chunk_size=chunk_size, customers_only=False):
        ids = Contact.objects.in_workspace(workspace).filter(pk__gte=lo, pk__lte=hi)
        rows = []
        for contact_id in ids.order_by("pk").values_list("pk", flat=True):
            history = histories.get(contact_id)
            encoded = _needs_json(model, history, today) if history else no_history
            result.with_history += bool(history)
            rows.append(NextNeedsRow(workspace.pk, contact_id, encoded[0], computed_at))
            for kind in encoded[1]:
                kinds[kind] = kinds.get(kind, 0) + 1
        with transaction.atomic():
            upsert(ContactNextNeeds, rows, unique=("workspace_id", "contact_id"))
        result.contacts += len(rows)
        if on_chunk is not None:
            on_chunk(len(rows))
    planner_statistics_refresh(models=[ContactNextNeeds])
    return result


def _needs_json(model: NextNeedModel, history, today: int) -> tuple[str, list[str]]:
    needs = model.recommend(history or [], today=today, k=NEXT_NEEDS)
    encoded = [
        {
            "product_id": need.product_id,
            "product": model.name(need.product_id),
            "kind": need.kind,
            "reason": need.reason,
            "score": round(need.score, 4),
        }
        for need in needs
    ]
    return json.dumps(encoded), [need.kind for need in needs]


# ---------------------------------------------------------------- feedback


@transaction.atomic
def next_best_action_task_create(*, user, workspace: Workspace, contact: Contact, note: str = ""):
    """Accepting a contact's next best action makes it a task for today, with its
    reason: the churn risk behind it and the rep's own note. The task is
    crmcore's (``crmcore.services.task_create``); ``None`` without a current
    suggestion for the contact."""
    score = ContactScore.objects.filter(workspace=workspace, contact=contact).first()
    if score is None or not score.next_action:
        return None
    percent = round(score.probability * 100)
    reason = f"Suggested by the churn model: {percent}% churn risk ({score.band})."
    if note.strip():
        reason += f" Your note: {note.strip()}"
    return crm_services.task_create(
        workspace=workspace,
        owner=user,
        title=score.next_action.get("text") or "Next best action",
        due_date=timezone.localdate(),
        contact=contact,
        source=Task.Source.NEXT_BEST_ACTION,
        reason=reason,
    )


def suggestion_feedback_record(
    *,
    user,
    workspace: Workspace,
    contact: Contact,
    kind: str,
    action: str,
    item: str = "",
    reason: str = "",
):
    """Record a rep's accept or dismiss of a next product or next action (pilot metrics).

    ``reason`` is the rep's own words ("already talked to them"), kept for the
    pilot review and checked by the training lesson.
    """
    if kind not in ("product", "action"):
        raise ValueError("kind must be 'product' or 'action'.")
    if action not in ("accepted", "dismissed"):
        raise ValueError("action must be 'accepted' or 'dismissed'.")
    if kind == "action" and action == "accepted":
        next_best_action_task_create(user=user, workspace=workspace, contact=contact, note=reason)
    return suggestion_event_record(
        capability="prediction",
        action=action,
        user=user,
        workspace=workspace,
        obj=contact,
        reason=reason.strip()[:500],
        detail={"kind": kind, "item": str(item)[:200]},
    )
