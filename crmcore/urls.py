"""Root URLconf. Other apps add pages and API routes through crmcore.extensions."""

from django.contrib import admin
from django.urls import include, path

from crmcore import extensions, health, perf

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    # The load benchmark's baseline; 404 unless PERF_RAW_VIEW is on (crmcore.perf).
    path("perf/raw/<int:pk>/", perf.raw_contact, name="perf-raw"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("crmcore.api.urls")),
    path("api/", include("crmcore.api.docs_urls")),
    path("", include("crmcore.web.urls")),
]

urlpatterns += [
    path(f"{page.prefix.strip('/')}/", include(page.urlconf, namespace=page.namespace))
    for page in extensions.page_urls
]

handler400 = "crmcore.web.errors.bad_request"
handler403 = "crmcore.web.errors.permission_denied"
handler404 = "crmcore.web.errors.page_not_found"
handler500 = "crmcore.web.errors.server_error"
