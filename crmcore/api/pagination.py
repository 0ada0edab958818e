"""Pagination of the API lists: keyset cursors, and page numbers for older clients.

A list is paged by ``?cursor=`` (the ``next`` and ``previous`` links): newest
first by default (``created_at``, then ``id``, descending), or in the order
``?ordering=`` asks for, always ended by ``id`` so that every row has one
place. A page is one indexed range query of ``page_size + 1`` rows, whatever
the size of the workspace or the depth of the page: no count, no offset. Rows
inserted while a client pages never make it see a row twice or miss one that
existed when it started.

``?page=N`` still pages by number (with ``count``), for clients written
before cursors; it counts the whole list on every request, so it costs more
as the workspace grows.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import OrderedDict
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F, Field, Model, Q, QuerySet
from django.db.models.fields.tuple_lookups import (  # type: ignore[import-untyped]
    TupleGreaterThan,
    TupleLessThan,
)
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination, PageNumberPagination, _positive_int
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

#: Newest first: the default of every list whose model has ``created_at``.
NEWEST_FIRST = ("-created_at", "-id")


class PageNumberCompatPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _default_ordering(model: type[Model]) -> tuple[str, ...]:
    try:
        model._meta.get_field("created_at")
    except FieldDoesNotExist:
        return ("-id",)
    return NEWEST_FIRST


class KeysetPagination(BasePagination):
    """Keyset (cursor) pagination on a unique ordering; see the module docstring."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    cursor_query_param = "cursor"
    invalid_cursor_message = "Invalid cursor."

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> list[Any]:
        self.request = request
        self.base_url = request.build_absolute_uri()
        self.page_size = self._page_size(request)
        self.ordering = self._ordering(request, queryset, view)
        cursor = self._decode(request)
        backwards = bool(cursor and cursor["r"])
        ordering = [_flip(key) for key in self.ordering] if backwards else list(self.ordering)
        queryset = queryset.order_by(*[_order_expression(queryset.model, k) for k in ordering])
        if cursor is not None:
            queryset = queryset.filter(_after(queryset.model, ordering, cursor["v"]))
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        page = rows[: self.page_size]
        if backwards:
            page.reverse()
        self.page = page
        self.has_next = more if not backwards else cursor is not None
        self.has_previous = cursor is not None if not backwards else more
        return page

    def get_paginated_response(self, data) -> Response:
        return Response(
            OrderedDict(
                [
                    ("next", self.get_next_link()),
                    ("previous", self.get_previous_link()),
                    ("results", data),
                ]
            )
        )

    def get_next_link(self) -> str | None:
        if not self.has_next or not self.page:
            return None
        return self._link(self.page[-1], backwards=False)

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if not self.page:
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self._link(self.page[0], backwards=True)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "count": {
                    "type": "integer",
                    "description": "Only with ?page= (page-number paging).",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The cursor of the next or previous link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (at most {self.max_page_size}).",
                "schema": {"type": "integer"},
            },
            {
                "name": "page",
                "required": False,
                "in": "query",
                "description": "Page number instead of a cursor (counts the list: slower).",
                "schema": {"type": "integer"},
            },
        ]

    # Internals ------------------------------------------------------------

    def _page_size(self, request) -> int:
        try:
            return _positive_int(
                request.query_params[self.page_size_query_param],
                strict=True,
                cutoff=self.max_page_size,
            )
        except (KeyError, ValueError):
            return self.page_size

    def _ordering(self, request, queryset: QuerySet, view) -> tuple[str, ...]:
        ordering: list[str] = []
        for backend in getattr(view, "filter_backends", []):
            if hasattr(backend, "get_ordering"):
                ordering = list(backend().get_ordering(request, queryset, view) or [])
                break
        ordering = [key for key in ordering if "__" not in key.lstrip("-")]
        ordering = ["-id" if key == "-pk" else "id" if key == "pk" else key for key in ordering]
        if not ordering:
            return _default_ordering(queryset.model)
        if not any(key.lstrip("-") == "id" for key in ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        else:
            ordering = ordering[: [k.lstrip("-") for k in ordering].index("id") + 1]
        return tuple(ordering)

    def _decode(self, request) -> dict | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            cursor = json.loads(base64.urlsafe_b64decode(encoded.encode("ascii")))
        except (ValueError, UnicodeError, binascii.Error) as exc:
            raise NotFound(self.invalid_cursor_message) from exc
        if (
            not isinstance(cursor, dict)
            or cursor.get("o") != list(self.ordering)
            or not isinstance(cursor.get("v"), list)
            or len(cursor["v"]) != len(self.ordering)
            or cursor.get("r") not in (0, 1)
        ):
            # A cursor of another ordering (or forged) cannot be placed in this one.
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def _link(self, row: Any, *, backwards: bool) -> str:
        values = [_value(row, key.lstrip("-")) for key in self.ordering]
        token = json.dumps({"o": list(self.ordering), "v": values, "r": int(backwards)})
        encoded = base64.urlsafe_b64encode(token.encode()).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)


class StandardPagination(BasePagination):
    """Keyset cursors; page numbers when the request asks for ``?page=``."""

    def __init__(self) -> None:
        self.cursor = KeysetPagination()
        self.numbers = PageNumberCompatPagination()
        self.active: BasePagination = self.cursor

    def paginate_queryset(self, queryset, request, view=None):
        self.active = self.numbers if "page" in request.query_params else self.cursor
        if self.active is self.numbers and not queryset.ordered:
            queryset = queryset.order_by(*_default_ordering(queryset.model))
        return self.active.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return self.active.get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        return self.cursor.get_paginated_response_schema(schema)

    def get_schema_operation_parameters(self, view):
        return self.cursor.get_schema_operation_parameters(view)

    def get_results(self, data):
        return data["results"]

    def to_html(self):
        return ""


def _field(model: type[Model], name: str) -> Field:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)  # ordering fields are concrete columns
    return field


def _flip(key: str) -> str:
    return key[1:] if key.startswith("-") else f"-{key}"


def _order_expression(model: type[Model], key: str):
    """Descending or ascending, NULLs last either way (as ``_after`` assumes)."""
    name = key.lstrip("-")
    if not _field(model, name).null:
        return key
    expression = F(name)
    return (
        expression.desc(nulls_last=True) if key.startswith("-") else expression.asc(nulls_last=True)
    )


def _value(row: Any, name: str) -> Any:
    value = getattr(row, name)
    if value is None or isinstance(value, (int, str, bool)):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _after(model: type[Model], ordering: list[str], values: list[Any]) -> Any:
    """Rows strictly after ``values`` in ``ordering`` (NULLs last), as one filter.

    When every key goes the same way and none may be NULL (the default
    ``(-created_at, -id)``), a row comparison ``(a, id) < (x, y)``: an index
    on ``(workspace, a, id)`` starts exactly at the cursor, however many rows
    share ``a`` (bulk loads write thousands with one timestamp). Otherwise
    ``a <= x AND (a < x OR (a = x AND id < y))``, NULLs handled, with the
    redundant first bound so that the index range starts at x.
    """
    fields = []
    for key, raw in zip(ordering, values, strict=True):
        name = key.lstrip("-")
        field = _field(model, name)
        try:
            value = None if raw is None else field.to_python(raw)
        except ValidationError as exc:
            raise NotFound(KeysetPagination.invalid_cursor_message) from exc
        if value is None and not field.null:
            raise NotFound(KeysetPagination.invalid_cursor_message)
        fields.append((name, key.startswith("-"), field.null, value))

    directions = {descending for _, descending, _, _ in fields}
    if len(directions) == 1 and not any(nullable for _, _, nullable, _ in fields):
        lookup = TupleLessThan if directions == {True} else TupleGreaterThan
        return lookup(tuple(F(name) for name, _, _, _ in fields), tuple(v for _, _, _, v in fields))
    condition = Q(pk__in=[])  # nothing is after the last key's own row
    for name, descending, nullable, value in reversed(fields):
        if value is None:
            beyond = Q(pk__in=[])  # NULLs are last: nothing comes after them
            equal = Q(**{f"{name}__isnull": True})
        else:
            beyond = Q(**{f"{name}__{'lt' if descending else 'gt'}": value})
            if nullable:
                beyond |= Q(**{f"{name}__isnull": True})
            equal = Q(**{name: value})
        condition = beyond | (equal & condition)
    name, descending, nullable, value = fields[0]
    if value is not None and not nullable:
        condition &= Q(**{f"{name}__{'lte' if descending else 'gte'}": value})
    return condition
