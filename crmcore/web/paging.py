"""Pages of a list that never count the whole list.

Django's ``Paginator`` counts every matching row on every page, so a list
costs more as the workspace grows. A ``WindowPage`` reads one row more than
it shows to know whether a next page exists: "previous" and "next" links,
no total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

#: Deeper pages than this are served as this one (an OFFSET stays bounded).
MAX_PAGE = 1000


@dataclass(frozen=True)
class WindowPage:
    object_list: list[Any]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def page_number(raw: Any) -> int:
    """A page number from a query parameter: 1 for anything that is not one."""
    try:
        number = int(raw)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE)


def window_page(queryset: QuerySet, *, number: Any, per_page: int) -> WindowPage:
    """The rows of page ``number`` (1-based) in one query of ``per_page + 1`` rows."""
    number = page_number(number)
    start = (number - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])
    return WindowPage(object_list=rows[:per_page], number=number, has_next=len(rows) > per_page)
