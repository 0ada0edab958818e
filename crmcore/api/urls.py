"""/api/v1/: the CRM resources, plus the routes other apps register."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from crmcore import extensions

router = DefaultRouter()
# The CRM viewsets are registered in crmcore.api.routes.
from crmcore.api.routes import register_core_routes  # noqa: E402

register_core_routes(router)

extra_patterns = []
for route in extensions.api_routes:
    if route.viewset is not None:
        router.register(route.prefix, route.viewset, basename=route.basename)
    if route.urlpatterns is not None:
        extra_patterns.append(path(f"{route.prefix.strip('/')}/", include(route.urlpatterns)))

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    *extra_patterns,
    path("", include(router.urls)),
]
