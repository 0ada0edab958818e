"""What other capabilities may read of prediction (through ``ai_features.facades``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_features.capabilities.prediction.models import ContactScore
from ai_features.facades import id_filter


@dataclass(frozen=True)
class ContactOutlook:
    """A contact's stored prediction: churn band and the products it needs next."""

    band: str
    next_products: tuple[str, ...]


NEXT_NEED_KINDS = ("reorder", "sequence", "together", "popular")
#: A stored recommendation scoring at most this came from popularity alone (the
#: recommender adds 0.01 x popularity to the transition and co-occurrence scores).
_POPULARITY_ONLY = 0.01
_KIND_REASONS = {
    "sequence": "bought next by customers with the same purchases",
    "popular": "one of the most bought products",
}


@dataclass(frozen=True)
class NextNeed:
    """A product a contact likely needs next, and why (``kind`` in ``NEXT_NEED_KINDS``)."""

    product: str
    reason: str
    kind: str


def _next_need(stored: dict[str, Any]) -> NextNeed | None:
    name = str(stored.get("name") or "").strip()
    if not name:
        return None
    kind = stored.get("kind")
    if kind not in NEXT_NEED_KINDS:
        score = stored.get("score")
        popular = isinstance(score, int | float) and score <= _POPULARITY_ONLY
        kind = "popular" if popular else "sequence"
    reason = str(stored.get("reason") or "") or _KIND_REASONS.get(kind, "")
    return NextNeed(product=name, reason=reason, kind=kind)


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
            workspace_id=workspace_id, **id_filter("contact_id", contact_ids)
        ).values_list("contact_id", "band", "next_products")
        return {
            contact_id: ContactOutlook(
                band, tuple(str(p.get("name") or "") for p in products or () if p.get("name"))
            )
            for contact_id, band, products in rows
            if contact_id in wanted
        }

    def next_needs(
        self, *, workspace_id: int, contact_ids: list[int]
    ) -> dict[int, tuple[NextNeed, ...]]:
        """contact id -> the products they likely need next, best first (one query).

        Read from the stored scores' recommendations (``ContactScore.next_products``):
        contacts without a stored score have none here.
        """
        if not contact_ids:
            return {}
        wanted = set(contact_ids)
        rows = ContactScore.objects.filter(
            workspace_id=workspace_id, **id_filter("contact_id", contact_ids)
        ).values_list("contact_id", "next_products")
        out: dict[int, tuple[NextNeed, ...]] = {}
        for contact_id, products in rows:
            if contact_id not in wanted:
                continue
            needs = tuple(
                need
                for need in (_next_need(p) for p in products or () if isinstance(p, dict))
                if need is not None
            )
            if needs:
                out[contact_id] = needs
        return out
