"""Login lockout (django-axes) wiring: the backend and the lockout response.

After ``AXES_FAILURE_LIMIT`` failed logins for one username, or from one
address, further attempts are refused for ``AXES_COOLOFF_TIME``, even with
the right password: the login page answers 429 with ``Retry-After``, and so
does the API's token endpoint (``crmcore.api.auth``). A successful login
resets the count.
"""

from __future__ import annotations

import math

from axes.backends import AxesStandaloneBackend  # type: ignore[import-untyped]
from axes.helpers import get_cool_off  # type: ignore[import-untyped]
from django.shortcuts import render


class LoginLockoutBackend(AxesStandaloneBackend):
    """Axes' lockout check for logins made through a request.

    Authentication without a request (management commands, the shell) is no
    brute-force channel: it is left to the next backend instead of refused.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def retry_after_seconds(request=None) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds())) if cool_off else 3600


def lockout_response(request, original_response=None, credentials=None):
    """The login page's answer while locked out: 429, ``Retry-After``, a plain reason."""
    seconds = retry_after_seconds(request)
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": math.ceil(seconds / 60)},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response
