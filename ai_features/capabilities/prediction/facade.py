"""What other capabilities may read of prediction (through ``ai_features.facades``)."""

from __future__ import annotations

from dataclasses import dataclass

from ai_features.capabilities.prediction.models import ContactNextNeeds, ContactScore
from ai_features.facades import id_filter


@dataclass(frozen=True)
class ContactOutlook:
    """A contact's stored prediction: churn band and the products it needs next."""

    band: str
    next_products: tuple[str, ...]


@dataclass(frozen=True)
class NextNeed:
    """A product a contact likely needs next, and why, in words a rep reads.

    ``kind``: "reorder" (they buy it on a cycle and it is due), "sequence" (often
    bought after something they bought), "together" (often bought with something
    they bought) or "popular" (the last resort, e.g. for a contact with no order).
    """

    product: str
    reason: str
    kind: str


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

    def contact_ids_in_band(self, *, workspace_id: int, band: str) -> list[int]:
        """Ids of the workspace's scored contacts in churn ``band`` (one query)."""
        return list(
            ContactScore.objects.filter(workspace_id=workspace_id, band=band).values_list(
                "contact_id", flat=True
            )
        )

    def next_needs(
        self, *, workspace_id: int, contact_ids: list[int]
    ) -> dict[int, tuple[NextNeed, ...]]:
        """contact id -> next needs, best first, for the contacts among ``contact_ids``
        whose next needs are stored (every contact of the workspace once the next-needs
        job has run: leads and churned customers too). One query."""
        if not contact_ids:
            return {}
        wanted = set(contact_ids)
        rows = ContactNextNeeds.objects.filter(
            workspace_id=workspace_id, **id_filter("contact_id", contact_ids)
        ).values_list("contact_id", "needs")
        return {
            contact_id: tuple(
                NextNeed(str(n["product"]), str(n["reason"]), str(n["kind"])) for n in needs or ()
            )
            for contact_id, needs in rows
            if contact_id in wanted
        }
