"""Django's error pages, in JSON under /api/ (as DRF's own errors are).

A URL under /api/ that no route matches (``/api/v1/contacts/0.7/``), or a
request Django refuses before any view runs (a body past
``DATA_UPLOAD_MAX_MEMORY_SIZE``), gets ``{"detail": ...}`` instead of an HTML page.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
