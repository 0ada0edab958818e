"""Settings of the integrations (import, export, webhooks): ``CRMCORE_<NAME>``.

Each is read from the Django setting, then the environment variable of the
same name, then the default here (see :mod:`crmcore.conf`). The unprefixed
names used before (``WEBHOOKS_MAX_ATTEMPTS``, ...) still work, deprecated.
"""

from __future__ import annotations

from crmcore.conf import AppSettings


class IntegrationSettings(AppSettings):
    prefix = "CRMCORE_"
    deprecated_prefix = ""

    #: Accept webhook targets on private, loopback or link-local addresses.
    WEBHOOKS_ALLOW_PRIVATE_TARGETS: bool = False
    #: Attempts per delivery (the first one included) before it is marked failed.
    WEBHOOKS_MAX_ATTEMPTS: int = 6
    #: An endpoint is disabled after this many failed attempts in a row.
    WEBHOOKS_MAX_CONSECUTIVE_FAILURES: int = 15
    #: Backoff before retry n: base * 2**(n-1) seconds, capped, the upper half jittered.
    WEBHOOKS_RETRY_BASE_SECONDS: float = 30.0
    WEBHOOKS_RETRY_MAX_SECONDS: float = 6 * 3600.0
    #: Seconds a webhook delivery may take.
    WEBHOOKS_TIMEOUT_SECONDS: float = 10.0
    #: Seconds ``manage.py deliver_webhooks`` sleeps when it found nothing to do.
    WEBHOOKS_DELIVERY_INTERVAL_SECONDS: float = 1.0
    #: Dispatched outbox events are deleted after this many days.
    OUTBOX_RETENTION_DAYS: float = 7.0
    #: The largest CSV file the import page and API accept (bytes). Uploads are
    #: counted while they arrive and dropped past this size.
    IMPORT_MAX_UPLOAD_BYTES: int = 20 * 1024 * 1024
    #: At most this many attributes per contact; an imported row that would give a
    #: contact more is rejected.
    IMPORT_MAX_ATTRIBUTE_KEYS: int = 100
    #: Contacts per query by the exports.
    EXPORT_CHUNK_SIZE: int = 1000


app_settings = IntegrationSettings()
