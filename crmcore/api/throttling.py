"""API throttles: rates from ``settings.API_THROTTLE_RATES``, read on every request.

``anon`` counts per client address, ``user`` per user, ``auth`` per address on
the token endpoint. Past its rate a caller gets 429 with ``Retry-After``.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class _SettingsRate:
    scope: str

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_SettingsRate, AnonRateThrottle):
    scope = "anon"


class UserThrottle(_SettingsRate, UserRateThrottle):
    scope = "user"


class TokenObtainThrottle(_SettingsRate, SimpleRateThrottle):
    """Token requests per client address, whoever they claim to be."""

    scope = "auth"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
