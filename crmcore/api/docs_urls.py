"""/api/schema/ (OpenAPI 3) and /api/docs/ (Swagger UI).

With ``API_DOCS_REQUIRE_LOGIN`` on (the default when DEBUG is off) both are for
logged-in users only: the schema answers 401/403 to anonymous callers and the
docs page sends them to the login page. The docs page loads its script from
its own URL (no inline script) and marks its one inline style with the
request's CSP nonce, so it passes the Content-Security-Policy.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission


def docs_require_login() -> bool:
    return bool(getattr(settings, "API_DOCS_REQUIRE_LOGIN", not settings.DEBUG))


class DocsAccess(BasePermission):
    """Anyone, or logged-in users only when ``API_DOCS_REQUIRE_LOGIN`` is on."""

    def has_permission(self, request, view) -> bool:
        return not docs_require_login() or bool(request.user and request.user.is_authenticated)


class SchemaApi(SpectacularAPIView):
    permission_classes = [DocsAccess]


class DocsView(SpectacularSwaggerSplitView):
    permission_classes = []
    template_name = "crmcore/api_docs.html"

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        if docs_require_login() and not request.user.is_authenticated:
            if request.GET.get("script") is not None:
                raise NotAuthenticated()
            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)


urlpatterns = [
    path("schema/", SchemaApi.as_view(), name="api-schema"),
    path("docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
]
