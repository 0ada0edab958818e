"""What personalization should move, per campaign author (declared in its capability)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, F, OuterRef, Q

from ai_features.capabilities.personalization.models import CampaignMessage
from crmcore.models import Interaction, Workspace

#: A reply or an unsubscribe counts within this many days of the message.
ANSWER_DAYS = 14
UNSUBSCRIBE_WORDS = ("unsubscribe", "opt out", "stop sending")


def _answered(workspace: Workspace, extra: Q) -> Exists:
    return Exists(
        Interaction.objects.in_workspace(workspace).filter(
            extra,
            contact_id=OuterRef("contact_id"),
            direction=Interaction.Direction.INBOUND,
            occurred_at__gt=OuterRef("sent_at"),
            occurred_at__lte=OuterRef("sent_at") + dt.timedelta(days=ANSWER_DAYS),
        )
    )


def _messages(workspace: Workspace, since: dt.datetime, until: dt.datetime, extra: Q):
    matured = min(until, dt.datetime.now(tz=dt.UTC) - dt.timedelta(days=ANSWER_DAYS))
    rows = (
        CampaignMessage.objects.filter(
            workspace=workspace,
            status=CampaignMessage.Status.SENT,
            sent_at__gte=since,
            sent_at__lt=matured,
            campaign__created_by__isnull=False,
        )
        .annotate(author=F("campaign__created_by_id"), hit=_answered(workspace, extra))
        .values_list("author", "sent_at", "hit")
    )
    return [(author, sent, float(hit)) for author, sent, hit in rows]


def replies(
    *, workspace: Workspace, since: dt.datetime, until: dt.datetime
) -> list[tuple[int, dt.datetime, float]]:
    """Each campaign message sent: 1 when the contact wrote back within 14 days."""
    return _messages(workspace, since, until, Q())


def unsubscribes(
    *, workspace: Workspace, since: dt.datetime, until: dt.datetime
) -> list[tuple[int, dt.datetime, float]]:
    """Each campaign message sent: 1 when the contact asked to unsubscribe within 14 days."""
    words = Q()
    for word in UNSUBSCRIBE_WORDS:
        words |= Q(body__icontains=word) | Q(subject__icontains=word)
    return _messages(workspace, since, until, words)
