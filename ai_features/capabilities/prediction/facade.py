"""What other capabilities may read of prediction (through ``ai_features.facades``)."""

from __future__ import annotations

from dataclasses import dataclass

from ai_features.capabilities.prediction.models import ContactScore
from ai_features.facades import id_filter


@dataclass(frozen=True)
class ContactOutlook:
    """A contact's stored prediction: churn band and the products it needs next."""

    band: str
    next_products: tuple[str, ...]


class PredictionFacade:
    available = True

    def contact_outlooks(
        self, *, workspace_id: int, contact_ids: list[int]
    ) -> dict[int, ContactOutlook]:
        """contact id -> outlook, for the scored contacts among ``contact_ids`` (one query)."""
        if not contact_ids:
            return {}
        wanted = set(contact_ids)
        rows = ContactScore.objects.filter(
            contact__do_not_profile=False,
            workspace_id=workspace_id,
            **id_filter("contact_id", contact_ids),
        ).values_list("contact_id", "band", "next_products")
        return {
            contact_id: ContactOutlook(
                band, tuple(str(p.get("name") or "") for p in products or () if p.get("name"))
            )
            for contact_id, band, products in rows
            if contact_id in wanted
        }
