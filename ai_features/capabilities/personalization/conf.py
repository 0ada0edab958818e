"""Settings of the personalization capability: ``AI_PERSONALIZATION_<NAME>`` or the default."""

from __future__ import annotations

from typing import Any

from django.conf import settings

PREFIX = "AI_PERSONALIZATION_"

DEFAULTS: dict[str, Any] = {
    # Contacts per build or send chunk (a fixed number of queries per chunk).
    "CHUNK_SIZE": 1000,
    # Contacts shown in the builder's preview sample.
    "PREVIEW_SIZE": 3,
    # Inbound interactions per contact that decide the best channel and hour.
    "RECENT_INBOUND": 20,
    # Latest inbound interactions whose tone is read (a complaint among them: apology first).
    "TONE_WINDOW": 3,
    # Tones that count as a complaint.
    "COMPLAINT_TONES": ("negative", "frustrated", "urgent"),
    # Built messages per page of the message list.
    "MESSAGES_PER_PAGE": 50,
}


def get_setting(name: str) -> Any:
    return getattr(settings, PREFIX + name, DEFAULTS[name])
