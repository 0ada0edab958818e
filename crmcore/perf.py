"""The load benchmark's baseline: one contact and its 25 newest interactions, one raw query.

``/perf/raw/<id>/`` answers only when ``PERF_RAW_VIEW`` is on (off by
default, so production never exposes it): ``benchmarks/load_pg.py`` turns it
on for its own server and measures every page against it. No login, no
template, no ORM: the floor of what a request that reads a contact can cost
through this stack (middleware included).
"""

from __future__ import annotations

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.html import escape

from crmcore.conf import AppSettings


class PerfSettings(AppSettings):
    prefix = "PERF_"

    #: Serve ``/perf/raw/<id>/`` (the load benchmark's baseline). Never in production.
    RAW_VIEW: bool = False


perf_settings = PerfSettings()

RAW_SQL = """
SELECT c.first_name, c.last_name, c.email, i.subject, i.occurred_at
FROM crmcore_contact c
LEFT JOIN (
    SELECT contact_id, subject, occurred_at, id FROM crmcore_interaction
    WHERE contact_id = %s ORDER BY occurred_at DESC, id DESC LIMIT 25
) i ON i.contact_id = c.id
WHERE c.id = %s
ORDER BY i.occurred_at DESC, i.id DESC
"""


def raw_contact(request: HttpRequest, pk: int) -> HttpResponse:
    if not perf_settings.RAW_VIEW:
        raise Http404("Not enabled")
    with connection.cursor() as cursor:
        cursor.execute(RAW_SQL, [pk, pk])
        rows = cursor.fetchall()
    if not rows:
        raise Http404("No such contact")
    first, last, email = rows[0][:3]
    items = "".join(
        f"<li>{escape(subject)} ({occurred})</li>" for *_, subject, occurred in rows if subject
    )
    return HttpResponse(
        f"<!doctype html><title>{escape(first)} {escape(last)}</title>"
        f"<h1>{escape(first)} {escape(last)}</h1><p>{escape(email)}</p><ul>{items}</ul>"
    )
