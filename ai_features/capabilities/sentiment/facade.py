"""What other capabilities may read of sentiment (through ``ai_features.facades``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, Q

from ai_features.capabilities.sentiment.conf import app_settings
from ai_features.capabilities.sentiment.models import InteractionSentiment


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
