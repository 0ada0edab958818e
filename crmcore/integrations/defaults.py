"""Settings of the integrations, with their defaults, read through ``get_setting``."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Refuse webhook targets on private, loopback or link-local addresses.
    "WEBHOOKS_ALLOW_PRIVATE_TARGETS": False,
    # Attempts per delivery (the first one included) before it is marked failed.
    "WEBHOOKS_MAX_ATTEMPTS": 6,
    # An endpoint is disabled after this many failed attempts in a row.
    "WEBHOOKS_MAX_CONSECUTIVE_FAILURES": 15,
    # Backoff before retry n: base * 2**(n-1), capped, the upper half jittered.
    "WEBHOOKS_RETRY_BASE_SECONDS": 30.0,
    "WEBHOOKS_RETRY_MAX_SECONDS": 6 * 3600.0,
    "WEBHOOKS_TIMEOUT_SECONDS": 10.0,
    # Rows written per transaction by the CSV importer.
    "IMPORT_CHUNK_SIZE": 1000,
    # The largest CSV file the import page and API accept (bytes). Uploads are
    # counted while they arrive and dropped past this size.
    "IMPORT_MAX_UPLOAD_BYTES": 20 * 1024 * 1024,
    # At most this many attributes per contact; an imported row that would give a
    # contact more is rejected.
    "IMPORT_MAX_ATTRIBUTE_KEYS": 100,
    # Contacts per query by the exports.
    "EXPORT_CHUNK_SIZE": 1000,
}


def get_setting(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])
