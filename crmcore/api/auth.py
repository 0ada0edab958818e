"""``POST /api/v1/auth/token/``: username and password in, API token out.

Guarded against password guessing twice over: a throttle per client address
(``API_THROTTLE_RATES["auth"]``) and the login lockout per username and per
address (``crmcore.security``); both answer 429 with ``Retry-After``.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import Throttled
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from crmcore.api.parsers import BoundedJSONParser
from crmcore.api.serializers import TokenResponseSerializer
from crmcore.api.throttling import TokenObtainThrottle
from crmcore.security import retry_after_seconds


class TokenObtainApi(ObtainAuthToken):
    """DRF's obtain_auth_token, documented. Send ``Authorization: Token <token>`` afterwards."""

    parser_classes = (BoundedJSONParser, FormParser, MultiPartParser)
    throttle_classes = (TokenObtainThrottle,)

    @extend_schema(
        request=AuthTokenSerializer,
        responses={
            200: TokenResponseSerializer,
            400: OpenApiResponse(description="Wrong username or password, or a malformed body."),
            429: OpenApiResponse(description="Too many attempts; see the Retry-After header."),
        },
        auth=[],
        tags=["auth"],
        summary="Obtain an API token",
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            if getattr(request, "axes_locked_out", False):
                raise Throttled(
                    wait=retry_after_seconds(request),
                    detail="Too many failed logins for this account or address.",
                )
            raise serializers.ValidationError(serializer.errors)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})
