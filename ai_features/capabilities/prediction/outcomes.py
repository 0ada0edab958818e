"""What prediction should move, measured per rep (declared in ``PredictionCapability.outcomes``)."""

from __future__ import annotations

import datetime as dt

from ai_features.capabilities.prediction.services import HIGH_RISK_EVENT
from crmcore.models import Contact, Deal, OutboxEvent, Workspace

#: An at-risk customer counts as retained if still a customer this long after the warning.
RETENTION_DAYS = 60


def deals_won(
    *, workspace: Workspace, since: dt.datetime, until: dt.datetime
) -> list[tuple[int, dt.datetime, float]]:
    """Each deal closed in the window by its owner: 1 won, 0 lost."""
    rows = (
        Deal.objects.in_workspace(workspace)
        .filter(
            stage__in=[Deal.Stage.WON, Deal.Stage.LOST],
            closed_at__gte=since,
            closed_at__lt=until,
            owner__isnull=False,
        )
        .values_list("owner_id", "closed_at", "stage")
    )
    return [(owner, closed, float(stage == Deal.Stage.WON)) for owner, closed, stage in rows]


def at_risk_retained(
    *, workspace: Workspace, since: dt.datetime, until: dt.datetime
) -> list[tuple[int, dt.datetime, float]]:
    """Each high churn-risk warning at least 60 days old, for the customer's owner.

    1 when the customer is still not churned (its current stage), dated at
    the warning: what the rep did after it is what counts.
    """
    matured = min(until, dt.datetime.now(tz=dt.UTC) - dt.timedelta(days=RETENTION_DAYS))
    warnings = list(
        OutboxEvent.objects.filter(
            workspace=workspace, name=HIGH_RISK_EVENT, created_at__gte=since, created_at__lt=matured
        ).values_list("payload__contact_id", "created_at")
    )
    ids = {contact_id for contact_id, _ in warnings if contact_id is not None}
    contacts = {
        pk: (owner, stage)
        for pk, owner, stage in Contact.objects.in_workspace(workspace)
        .filter(pk__in=ids, owner__isnull=False)
        .values_list("pk", "owner_id", "lifecycle_stage")
    }
    return [
        (contacts[cid][0], at, float(contacts[cid][1] != Contact.Stage.CHURNED))
        for cid, at in warnings
        if cid in contacts
    ]
