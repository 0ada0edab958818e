"""What other capabilities may read of sentiment (through ``ai_features.facades``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, Q

from ai_features.capabilities.sentiment.conf import app_settings
from ai_features.capabilities.sentiment.models import InteractionSentiment
from ai_features.facades import id_filter


@dataclass(frozen=True)
class ToneSummary:
    """A contact's tone before a point in time: negative messages in 30 days, mean in 90."""

    negative_30d: int
    mean_polarity_90d: float


class SentimentFacade:
    available = True

    def tone_summaries(
        self, *, workspace_id: int, as_of: dt.datetime, id_range: tuple[int, int] | None = None
    ) -> dict[int, ToneSummary]:
        """contact id -> ToneSummary, for contacts with analysed interactions (one query).

        "Negative" is sentiment's own threshold (``AI_SENTIMENT_NEGATIVE_THRESHOLD``).
        """
        qs = InteractionSentiment.objects.filter(
            workspace_id=workspace_id,
            occurred_at__lt=as_of,
            occurred_at__gte=as_of - dt.timedelta(days=90),
        )
        if id_range is not None:
            qs = qs.filter(contact_id__gte=id_range[0], contact_id__lte=id_range[1])
        negative = app_settings.NEGATIVE_THRESHOLD
        month = Q(occurred_at__gte=as_of - dt.timedelta(days=30))
        rows = (
            qs.order_by()
            .values("contact_id")
            .annotate(
                negative=Count("pk", filter=month & Q(polarity__lt=negative)),
                mean=Avg("polarity"),
            )
        )
        return {r["contact_id"]: ToneSummary(r["negative"], float(r["mean"] or 0.0)) for r in rows}

    def polarity_history(
        self, *, workspace_id: int, contact_ids: list[int], before: dt.datetime
    ) -> dict[int, list[tuple[dt.datetime, float]]]:
        """contact id -> [(occurred_at, polarity), ...] oldest first, before ``before``
        (one query): the tone of each contact as of any earlier moment."""
        if not contact_ids:
            return {}
        wanted = set(contact_ids)
        rows = (
            InteractionSentiment.objects.filter(
                workspace_id=workspace_id,
                occurred_at__lt=before,
                **id_filter("contact_id", contact_ids),
            )
            .order_by("contact_id", "occurred_at")
            .values_list("contact_id", "occurred_at", "polarity")
        )
        history: dict[int, list[tuple[dt.datetime, float]]] = {}
        for contact_id, occurred_at, polarity in rows:
            if contact_id in wanted:
                history.setdefault(contact_id, []).append((occurred_at, float(polarity)))
        return history

    def interaction_tones(self, *, workspace_id: int, interaction_ids: list[int]) -> dict[int, str]:
        """interaction id -> stored tone (positive, neutral, negative), one query."""
        if not interaction_ids:
            return {}
        rows = (
            InteractionSentiment.objects.filter(
                workspace_id=workspace_id, interaction_id__in=interaction_ids
            )
            .order_by()
            .values_list("interaction_id", "tone")
        )
        return dict(rows)
