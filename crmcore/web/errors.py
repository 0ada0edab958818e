"""Error pages: JSON under /api/ (as DRF's own errors are), styled HTML elsewhere.

A URL under /api/ that no route matches (``/api/v1/contacts/0.7/``), or a
request Django refuses before any view runs (a body past
``DATA_UPLOAD_MAX_MEMORY_SIZE``), gets ``{"detail": ...}``. Every other page
gets the site's own 400, 403, 404 or 500 page: the header, the reason in plain
words and a way back to the dashboard.

With ``DEBUG`` on, Django would answer with its debug pages (the URL
patterns, the traceback). ``FriendlyErrorsMiddleware`` answers with the same
pages as production instead, unless ``DEBUG_ERROR_PAGES`` is on (a developer
who wants the tracebacks sets it).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseServerError, JsonResponse
from django.template import loader
from django.urls import Resolver404
from django.views import defaults

logger = logging.getLogger("django.request")

#: What a 500 page says when even the styled page cannot be drawn (the
#: database is down, a template fails): plain HTML with no query behind it.
PLAIN_500 = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    "<title>Something went wrong · PilotCRM</title></head><body>"
    "<h1>Something went wrong on our side</h1>"
    "<p>PilotCRM could not finish this page. Try again in a moment.</p>"
    "<p><a href='/'>Back to the dashboard</a></p></body></html>"
)


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "You do not have permission to do this."}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    try:
        html = loader.get_template("500.html").render(
            {"request_id": getattr(request, "request_id", "")}, request
        )
    except Exception:
        logger.exception("The 500 page could not be rendered")
        html = PLAIN_500
    return HttpResponseServerError(html)


class FriendlyErrorsMiddleware:
    """With DEBUG on, the production error pages instead of Django's debug pages.

    Does nothing with DEBUG off (Django calls the handlers itself) or when
    ``DEBUG_ERROR_PAGES`` asks for the debug pages.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def active() -> bool:
        return settings.DEBUG and not getattr(settings, "DEBUG_ERROR_PAGES", False)

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and self.active()
            and getattr(request, "resolver_match", None) is None
        ):
            # No URL pattern matched: Django drew its list of patterns.
            return page_not_found(request, Resolver404({"path": request.path}))
        return response

    def process_exception(self, request, exception):
        if not self.active():
            return None
        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return permission_denied(request, exception)
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=(type(exception), exception, exception.__traceback__),
            extra={"status_code": 500, "request": request},
        )
        return server_error(request)
