"""What sentiment should move, per contact owner (``SentimentCapability.outcomes``)."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Min, OuterRef, Subquery

from ai_features.capabilities.sentiment.models import InteractionSentiment
from crmcore.models import Interaction, Workspace

NEGATIVE_TONES = ("negative", "frustrated", "urgent")
#: An unanswered message counts as this many hours once it is this old.
UNANSWERED_HOURS = 7 * 24


def hours_to_answer(
    *, workspace: Workspace, since: dt.datetime, until: dt.datetime
) -> list[tuple[int, dt.datetime, float]]:
    """Each negative or urgent inbound message: hours until the first outbound answer.

    Attributed to the contact's owner; a message still unanswered after a week
    counts as a week; a younger unanswered one is not counted yet.
    """
    answer = (
        Interaction.objects.in_workspace(workspace)
        .filter(
            contact_id=OuterRef("contact_id"),
            direction=Interaction.Direction.OUTBOUND,
            occurred_at__gt=OuterRef("occurred_at"),
        )
        .values("contact_id")
        .annotate(first=Min("occurred_at"))
        .values("first")
    )
    rows = (
        InteractionSentiment.objects.filter(
            workspace=workspace,
            tone__in=NEGATIVE_TONES,
            occurred_at__gte=since,
            occurred_at__lt=until,
            interaction__direction=Interaction.Direction.INBOUND,
            contact__owner__isnull=False,
        )
        .annotate(owner=F("contact__owner_id"), answered=Subquery(answer[:1]))
        .values_list("owner", "occurred_at", "answered")
    )
    cap = dt.timedelta(hours=UNANSWERED_HOURS)
    now = dt.datetime.now(tz=dt.UTC)
    out = []
    for owner, at, answered in rows:
        if answered is not None and answered - at <= cap:
            out.append((owner, at, (answered - at).total_seconds() / 3600))
        elif min(now, until) - at >= cap:
            out.append((owner, at, float(UNANSWERED_HOURS)))
    return out
