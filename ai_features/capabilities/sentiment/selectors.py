"""Reads of the sentiment capability. All take the workspace explicitly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Exists, F, OuterRef, Subquery
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber
from django.http import Http404

from ai_features.capabilities.sentiment.models import (
    InteractionSentiment,
    SentimentAlert,
    SentimentModel,
    ToneCorrection,
)
from ai_features.models import JobRun
from crmcore.models import Contact, Interaction, Workspace

CAPABILITY = "sentiment"


@dataclass(frozen=True)
class TrendPoint:
    occurred_at: dt.datetime
    polarity: float
    tone: str


def interaction_get(*, workspace: Workspace, interaction_id: int) -> Interaction:
    """An interaction of this workspace, or 404 (other workspaces' too)."""
    interaction = (
        Interaction.objects.in_workspace(workspace)
        .select_related("contact")
        .filter(pk=interaction_id)
        .first()
    )
    if interaction is None:
        raise Http404("No such interaction")
    return interaction


def active_model_ref(*, workspace_id: int) -> tuple[int, str] | None:
    """(version, artifact path) of the workspace's published model, if any."""
    row = (
        SentimentModel.objects.filter(workspace_id=workspace_id, is_active=True)
        .values_list("version", "artifact")
        .first()
    )
    return (row[0], row[1]) if row else None


def latest_corrections(*, interaction_ids: list[int]) -> dict[int, tuple[str, str]]:
    """interaction id -> (text, tone) of its latest correction."""
    rows = (
        ToneCorrection.objects.filter(interaction_id__in=interaction_ids)
        .order_by("interaction_id", "created_at", "id")
        .values_list("interaction_id", "text", "to_tone")
    )
    return {pk: (text, tone) for pk, text, tone in rows}


def correction_training_set(*, workspace: Workspace) -> list[tuple[str, str, dt.datetime]]:
    """(text, tone, created_at) of the latest correction of each interaction."""
    latest: dict[int, tuple[str, str, dt.datetime]] = {}
    rows = (
        ToneCorrection.objects.filter(workspace=workspace)
        .order_by("created_at", "id")
        .values_list("interaction_id", "text", "to_tone", "created_at")
    )
    for interaction_id, text, tone, created_at in rows:
        latest[interaction_id] = (text, tone, created_at)
    return list(latest.values())


def correction_count(*, workspace: Workspace) -> int:
    return ToneCorrection.objects.filter(workspace=workspace).count()


def correction_list(*, workspace: Workspace, limit: int = 50) -> list[ToneCorrection]:
    return list(
        ToneCorrection.objects.filter(workspace=workspace).select_related(
            "corrected_by", "interaction__contact"
        )[:limit]
    )


def model_list(*, workspace: Workspace) -> list[SentimentModel]:
    return list(SentimentModel.objects.filter(workspace=workspace).select_related("trained_by"))


def contact_trend(*, workspace: Workspace, contact_id: int, limit: int) -> list[TrendPoint]:
    """The contact's last ``limit`` analysed interactions, oldest first."""
    rows = (
        InteractionSentiment.objects.filter(workspace=workspace, contact_id=contact_id)
        .order_by("-occurred_at", "-id")
        .values_list("occurred_at", "polarity", "tone")[:limit]
    )
    return [TrendPoint(occurred_at=o, polarity=p, tone=t) for o, p, t in reversed(rows)]


def contact_recent_sentiments(
    *, workspace: Workspace, contact_id: int, limit: int = 5
) -> list[InteractionSentiment]:
    return list(
        InteractionSentiment.objects.filter(workspace=workspace, contact_id=contact_id)
        .select_related("interaction")
        .order_by("-occurred_at", "-id")[:limit]
    )


def open_alert_for_contact(*, workspace: Workspace, contact_id: int) -> SentimentAlert | None:
    return SentimentAlert.objects.filter(
        workspace=workspace, contact_id=contact_id, acknowledged_at__isnull=True
    ).first()


def alert_list(*, workspace: Workspace, include_acknowledged: bool = False) -> list[SentimentAlert]:
    qs = SentimentAlert.objects.filter(workspace=workspace).select_related(
        "contact", "acknowledged_by"
    )
    if not include_acknowledged:
        qs = qs.filter(acknowledged_at__isnull=True)
    return list(qs[:200])


def alert_get(*, workspace: Workspace, alert_id: int) -> SentimentAlert:
    alert = SentimentAlert.objects.filter(workspace=workspace, pk=alert_id).first()
    if alert is None:
        raise Http404("No such alert")
    return alert


def recent_polarities(
    *, workspace: Workspace, contact_ids: list[int], per_contact: int
) -> dict[int, list[tuple[float, dt.datetime]]]:
    """Each contact's last ``per_contact`` polarities, newest first (one query)."""
    rows = (
        InteractionSentiment.objects.filter(workspace=workspace, contact_id__in=contact_ids)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("contact_id")],
                order_by=[F("occurred_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=per_contact)
        .order_by("contact_id", "rank")
        .values_list("contact_id", "polarity", "occurred_at")
    )
    out: dict[int, list[tuple[float, dt.datetime]]] = {}
    for contact_id, polarity, occurred_at in rows:
        out.setdefault(contact_id, []).append((polarity, occurred_at))
    return out


def alert_history(*, workspace: Workspace, contact_ids: list[int]) -> dict[str, Any]:
    """When each contact's latest alert was raised, and who has one open."""
    rows = SentimentAlert.objects.filter(
        workspace=workspace, contact_id__in=contact_ids
    ).values_list("contact_id", "created_at", "acknowledged_at")
    latest: dict[int, dt.datetime] = {}
    open_ids: set[int] = set()
    for contact_id, created, acknowledged in rows:
        latest[contact_id] = max(created, latest.get(contact_id, created))
        if acknowledged is None:
            open_ids.add(contact_id)
    return {"latest": latest, "open": open_ids}


def interaction_fields(*, workspace: Workspace, interaction_ids: list[int]) -> dict[int, dict]:
    """The sentiment API fields of a page of interactions (one query)."""
    # Unordered: with the model's date ordering SQLite walks every row of the
    # workspace instead of looking the interactions up by their unique key.
    rows = (
        InteractionSentiment.objects.filter(workspace=workspace, interaction_id__in=interaction_ids)
        .order_by()
        .values_list("interaction_id", "polarity", "subjectivity", "tone")
    )
    return {
        pk: {
            "sentiment_polarity": polarity,
            "sentiment_subjectivity": subjectivity,
            "sentiment_tone": tone,
        }
        for pk, polarity, subjectivity, tone in rows
    }


def contact_fields(*, workspace: Workspace, contact_ids: list[int]) -> dict[int, dict]:
    """The sentiment API fields of a page of contacts (one query)."""
    sentiments = InteractionSentiment.objects.filter(workspace=workspace, contact_id=OuterRef("pk"))
    rows = (
        Contact.objects.in_workspace(workspace)
        .filter(pk__in=contact_ids)
        .annotate(
            latest_tone=Subquery(sentiments.order_by("-occurred_at", "-id").values("tone")[:1]),
            mean_polarity=Subquery(
                sentiments.order_by()
                .values("contact_id")
                .annotate(mean=Avg("polarity"))
                .values("mean")[:1]
            ),
            alert=Exists(
                SentimentAlert.objects.filter(
                    workspace=workspace, contact_id=OuterRef("pk"), acknowledged_at__isnull=True
                )
            ),
        )
        .values_list("pk", "latest_tone", "mean_polarity", "alert")
    )
    return {
        pk: {
            "sentiment_tone": tone,
            "sentiment_mean_polarity": round(mean, 4) if mean is not None else None,
            "sentiment_alert": bool(alert),
        }
        for pk, tone, mean, alert in rows
    }


def job_run_list(*, workspace: Workspace, limit: int = 5) -> list[JobRun]:
    return list(JobRun.objects.filter(capability=CAPABILITY, workspace=workspace)[:limit])
