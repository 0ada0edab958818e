"""``POST /api/v1/auth/token/``: username and password in, API token out."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, MultiPartParser

from crmcore.api.parsers import BoundedJSONParser
from crmcore.api.serializers import TokenResponseSerializer


class TokenObtainApi(ObtainAuthToken):
    """DRF's obtain_auth_token, documented. Send ``Authorization: Token <token>`` afterwards."""

    parser_classes = (BoundedJSONParser, FormParser, MultiPartParser)

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: TokenResponseSerializer},
        auth=[],
        tags=["auth"],
        summary="Obtain an API token",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
