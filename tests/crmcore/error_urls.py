"""crmcore's URLs plus pages that fail on purpose (the error-page tests)."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from crmcore.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def boom(request):
    raise RuntimeError("secret internals: do not show")


def forbidden(request):
    raise PermissionDenied("Only admins can erase contacts.")


def boom_api(request):
    raise RuntimeError("secret internals")


urlpatterns = [
    path("boom/", boom),
    path("forbidden/", forbidden),
    path("api/boom/", boom_api),
    *urlpatterns,
]
