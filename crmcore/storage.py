"""Static files storage for DEBUG=False: whitenoise's compressed manifest storage.

Without ``collectstatic`` there is no manifest, and Django's manifest storage
makes every ``{% static %}`` raise: every page would answer 500. This storage
falls back to the plain file name instead (the page renders; the file itself
is missing until collectstatic runs) and logs it; ``manage.py check --deploy``
reports the missing manifest (``crmcore.checks``).
"""

from __future__ import annotations

import logging

from whitenoise.storage import CompressedManifestStaticFilesStorage  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            logger.warning("Static file %r is not collected: run `manage.py collectstatic`.", name)
            return name
