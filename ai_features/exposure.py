"""Exposure: when each user first had each capability on in production, and by which rule.

The gate notes a yes here; the first one per user and capability is written
once after commit and then remembered in the cache, so a warm gate check
neither writes nor reads. The rollout evidence compares exposed users with
those not yet exposed (``ai_features.evidence``).
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from ai_features.models import Exposure

EXPOSURE_KEY = "ai_features:exposed:{capability}:{user}"


def exposure_key(capability: str, user_id: Any) -> str:
    return EXPOSURE_KEY.format(capability=capability, user=user_id)


def exposure_record_later(*, capability: str, user_id: int, rule: str) -> None:
    """Record the user's first exposure to the capability once the transaction commits.

    One ``INSERT ... ON CONFLICT DO NOTHING`` (the first exposure wins), then
    remembered in the cache so later gate checks neither write nor read.
    """
    first_at = timezone.now()

    def write() -> None:
        Exposure.objects.bulk_create(
            [Exposure(user_id=user_id, capability=capability, first_at=first_at, rule=rule[:80])],
            ignore_conflicts=True,
        )
        cache.set(exposure_key(capability, user_id), True, None)

    transaction.on_commit(write)
