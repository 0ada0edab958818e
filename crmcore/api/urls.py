"""/api/v1/: the CRM resources, plus the routes other apps register.

Other apps add viewsets or URL patterns through ``crmcore.extensions.api_routes``
from their ``AppConfig.ready()``; they are mounted here next to the CRM's own.
The OpenAPI schema and its docs are at /api/schema/ and /api/docs/
(``crmcore.api.docs_urls``).
"""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from crmcore import extensions
from crmcore.api.auth import TokenObtainApi
from crmcore.api.routes import register_core_routes

router = DefaultRouter()
register_core_routes(router)

extra_patterns = []
for route in extensions.api_routes:
    if route.viewset is not None:
        router.register(route.prefix, route.viewset, basename=route.basename)
    if route.urlpatterns is not None:
        extra_patterns.append(path(f"{route.prefix.strip('/')}/", include(route.urlpatterns)))

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="api-token"),
    *extra_patterns,
    path("", include(router.urls)),
]
