"""Changes that make a customer's or a deal's score stale queue it for a refresh.

An order or an interaction queues its contact; a deal saved or moved to another
stage queues the deal. The ``refresh_scores`` job drains the queue every minute,
in bulk, however many changes came in between (``deal_services.score_refresh_drain``).
Bulk writes that skip ``save()`` (imports, the generator) are caught by the
nightly run instead.
"""

from __future__ import annotations

from django.db.models.signals import post_save

from ai_features.capabilities.prediction.deal_services import score_refresh_mark
from crmcore.models import Deal, DealStageChange, Interaction, Order

DISPATCH_UID = "prediction-score-refresh"


def _mark(workspace_id: int, kind: str, object_id: int | None) -> None:
    if object_id:
        score_refresh_mark(workspace_id=workspace_id, kind=kind, object_ids=[object_id])


def contact_changed(sender, instance, **kwargs) -> None:
    _mark(instance.workspace_id, "contact", instance.contact_id)


def deal_changed(sender, instance, **kwargs) -> None:
    deal_id = instance.deal_id if isinstance(instance, DealStageChange) else instance.pk
    _mark(instance.workspace_id, "deal", deal_id)


def connect() -> None:
    post_save.connect(contact_changed, sender=Order, dispatch_uid=f"{DISPATCH_UID}-order")
    post_save.connect(
        contact_changed, sender=Interaction, dispatch_uid=f"{DISPATCH_UID}-interaction"
    )
    post_save.connect(deal_changed, sender=Deal, dispatch_uid=f"{DISPATCH_UID}-deal")
    post_save.connect(deal_changed, sender=DealStageChange, dispatch_uid=f"{DISPATCH_UID}-stage")
