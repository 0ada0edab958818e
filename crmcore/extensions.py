"""Extension points that other apps fill in from ``AppConfig.ready()``.

crmcore never imports the apps that plug into it. Instead it offers a few
small, explicit registries:

* ``contact_panels``: panels rendered on the contact detail page.
* ``deal_panels``: panels rendered on the deal page.
* ``deal_badges``: a small value on every pipeline card (a deal's win
  probability), computed in bulk for the deals shown.
* ``contact_columns``: a column of the contact list (a contact's churn
  risk), with its filter, sort and saved filters, computed in bulk for the
  page shown.
* ``api_routes``: DRF viewsets or URL patterns mounted under ``/api/v1/``.
* ``page_urls``: HTML URL modules mounted under a prefix (``/ai/``, ...).
* ``nav_items``: links in the page header, each shown only where its
  ``visible(request)`` says so.
* ``api_field_providers``: extra read-only fields on API items (for example
  a contact's sentiment), computed in bulk for a page of objects.
* ``merge_fields``: placeholder names that campaign templates may use beyond
  crmcore's own (``crmcore.placeholders.CORE_FIELDS``), for example the
  personal facts of a capability.
* ``run_reapers``: functions that interrupt (and queue again) an app's runs
  whose heartbeat stopped; ``manage.py reap_stale_runs`` calls them all.

Events live in ``crmcore.events``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.http import HttpRequest
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe


@dataclass(frozen=True)
class ContactPanel:
    """A panel on the contact detail page.

    ``render(request, contact)`` returns HTML (already safe) or ``None`` when
    the panel has nothing to show for this request (for example when the
    capability behind it is off for the user).
    """

    key: str
    title: str
    render: Callable[[HttpRequest, Any], str | None]
    order: int = 100


@dataclass(frozen=True)
class DealPanel:
    """A panel on the deal page: ``render(request, deal)`` returns safe HTML or ``None``."""

    key: str
    title: str
    render: Callable[[HttpRequest, Any], str | None]
    order: int = 100


@dataclass(frozen=True)
class DealBadge:
    """What a pipeline card shows for one deal: short ``text`` ("72%"), its ``title``
    (a tooltip in words), a ``level`` for its colour ("high", "medium", "low")."""

    text: str
    title: str = ""
    level: str = ""


@dataclass(frozen=True)
class DealBadgeProvider:
    """Badges for pipeline cards: ``provide(request, deals)`` returns ``{deal.pk: DealBadge}``
    for the deals the caller may see it for, in one or two queries for all of them."""

    key: str
    label: str
    provide: Callable[[Any, list[Any]], dict[int, DealBadge]]
    order: int = 100


@dataclass(frozen=True)
class ListCell:
    """What a list column shows for one row: ``text`` ("72%"), its ``title`` (a
    tooltip in words) and a ``level`` for its colour: "good", "warn" or "bad"."""

    text: str
    title: str = ""
    level: str = ""


def _always(request: HttpRequest) -> bool:
    return True


@dataclass(frozen=True)
class ContactColumn:
    """A column an app adds to the contact list, with its filter and sort.

    * ``provide(request, contacts)`` returns ``{contact.pk: ListCell}`` for the
      contacts of the page shown, in one or two queries for all of them.
    * ``visible(request)``: whether the column, its filter and its saved filters
      are shown to this user at all.
    * ``filter_choices``: the values of its filter (``?<key>=<value>`` on the
      list and the export); ``filter(request, contacts, value)`` narrows a
      queryset of contacts to them.
    * ``sort(request, contacts, descending)`` orders a queryset by the column
      (``None``: not sortable).
    * ``saved_filters``: ``(label, query string)`` pairs offered with the list's
      own saved filters (``"?stage=customer&churn_risk=high"``).
    """

    key: str
    label: str
    provide: Callable[[Any, list[Any]], dict[int, ListCell]]
    visible: Callable[[HttpRequest], bool] = _always
    filter_label: str = ""
    filter_choices: tuple[tuple[str, str], ...] = ()
    filter: Callable[[Any, Any, str], Any] | None = None
    sort: Callable[[Any, Any, bool], Any] | None = None
    saved_filters: tuple[tuple[str, str], ...] = ()
    order: int = 100


@dataclass(frozen=True)
class NavItem:
    """A header link. Items with the same ``group`` share one drop-down menu
    named after it (the AI pages under "AI"), placed where its first item is."""

    key: str
    label: str
    url_name: str
    visible: Callable[[HttpRequest], bool] = lambda request: True
    order: int = 100
    #: The core section whose header link this item takes over ("campaigns"): one
    #: link, pointing here, lit on every page of the section. "" adds a link.
    replaces: str = ""
    #: A drop-down menu of the header this item goes in ("AI", "Training"); "": a plain link.
    group: str = ""


@dataclass(frozen=True)
class ApiRoute:
    """A viewset registered on the ``/api/v1/`` router, or raw URL patterns."""

    prefix: str
    viewset: Any = None
    basename: str | None = None
    urlpatterns: Any = None


class UrlconfObject(Protocol):
    """A URLconf given as an object (what ``include()`` takes besides a dotted path)."""

    @property
    def urlpatterns(self) -> list[Any]: ...


@dataclass(frozen=True)
class PageUrls:
    prefix: str
    urlconf: str | UrlconfObject
    namespace: str | None = None


@dataclass(frozen=True)
class ApiFieldProvider:
    """Extra fields for API items of one model.

    ``provide(request, objects)`` returns ``{object.pk: {field: value}}`` for
    the objects the caller may see it for, computed in bulk (one or two
    queries for the whole page, never one per object). ``schema`` maps each
    field name to a short description for the OpenAPI document.
    """

    key: str
    model_label: str
    provide: Callable[[Any, list[Any]], dict[int, dict[str, Any]]]
    schema: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # "crmcore.Contact" (Model._meta.label) and "crmcore.contact"
        # (label_lower) name the same model: stored in one form.
        object.__setattr__(self, "model_label", normalise_model_label(self.model_label))


@dataclass(frozen=True)
class MergeField:
    """A name a campaign template may use as ``{key}``.

    ``may_be_empty``: some contacts have no value for it, so a template must
    give it a fallback (``{key|text}``) or put it in an optional sentence
    (``[... {key} ...]``). ``max_length`` bounds the value a message may
    receive. ``visible(request)`` says whether the builder pages list it for
    this user (a template that uses it is valid either way: with no value
    its fallback or the optional sentence's omission applies).
    """

    key: str
    label: str
    may_be_empty: bool = False
    help: str = ""
    max_length: int = 200
    visible: Callable[[HttpRequest], bool] = lambda request: True
    order: int = 100


@dataclass(frozen=True)
class ReapReport:
    """What one reaper did: the runs it marked interrupted, and those it queued again."""

    key: str
    interrupted: tuple[int, ...] = ()
    requeued: tuple[int, ...] = ()


@dataclass(frozen=True)
class RunReaper:
    """``reap`` (a callable or its dotted path) takes ``stale_after`` (seconds or None
    for the setting) as a keyword and returns a ReapReport."""

    key: str
    label: str
    reap: Callable[..., ReapReport] | str
    order: int = 100

    def __call__(self, *, stale_after: float | None = None) -> ReapReport:
        reap = self.reap
        if isinstance(reap, str):
            reap = import_string(reap)
        return reap(stale_after=stale_after)


@dataclass(frozen=True)
class Notice:
    """A short notice for the signed-in user on the dashboard (e.g. a capability reached them).

    ``dismiss_url`` (optional) is a URL a POST to hides the notice for good.
    """

    key: str
    text: str
    link_url: str = ""
    link_text: str = ""
    dismiss_url: str = ""


@dataclass(frozen=True)
class NoticeProvider:
    """``notices(request) -> list[Notice]``, asked only by pages that show notices."""

    key: str
    notices: Callable[[Any], list[Notice]]
    order: int = 100


class Registry:
    def __init__(self, name: str) -> None:
        self.name = name
        self._items: dict[str, Any] = {}

    def register(self, item: Any) -> Any:
        key = getattr(item, "key", None) or getattr(item, "prefix", None)
        if not key:
            raise ValueError(f"{self.name}: an item needs a key")
        if key in self._items and self._items[key] != item:
            raise ValueError(f"{self.name}: {key!r} is already registered")
        self._items[key] = item
        return item

    def unregister(self, key: str) -> None:
        self._items.pop(key, None)

    def __iter__(self) -> Iterator[Any]:
        items: Iterable[Any] = self._items.values()
        return iter(sorted(items, key=lambda item: (getattr(item, "order", 100), str(item))))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def get(self, key: str) -> Any:
        return self._items.get(key)


contact_panels = Registry("contact_panels")
deal_panels = Registry("deal_panels")
deal_badges = Registry("deal_badges")
contact_columns = Registry("contact_columns")
nav_items = Registry("nav_items")
api_routes = Registry("api_routes")
page_urls = Registry("page_urls")
api_field_providers = Registry("api_field_providers")
merge_fields = Registry("merge_fields")
run_reapers = Registry("run_reapers")
notice_providers = Registry("notice_providers")


def notices_for(request: Any) -> list[Notice]:
    """Every provider's notices for ``request``, in provider order."""
    return [notice for provider in notice_providers for notice in provider.notices(request)]


def deal_badges_for(request: HttpRequest, deals: list[Any]) -> None:
    """Set ``deal.badges`` (a list of DealBadge, provider order) on each of ``deals``."""
    for deal in deals:
        deal.badges = []
    if not deals:
        return
    for provider in deal_badges:
        badges = provider.provide(request, deals)
        for deal in deals:
            badge = badges.get(deal.pk)
            if badge is not None:
                deal.badges.append(badge)


def contact_columns_for(request: HttpRequest) -> list[ContactColumn]:
    """The contact list columns this user sees, in order."""
    return [column for column in contact_columns if column.visible(request)]


def contact_columns_filter(
    request: HttpRequest, columns: list[ContactColumn], contacts: Any, params: Any
) -> tuple[Any, dict[str, str]]:
    """``contacts`` narrowed by each column filter given in ``params`` (a QueryDict)
    with a valid value, and the filters applied (``{key: value}``)."""
    applied: dict[str, str] = {}
    for column in columns:
        value = params.get(column.key, "")
        if column.filter is None or value not in {v for v, _ in column.filter_choices}:
            continue
        contacts = column.filter(request, contacts, value)
        applied[column.key] = value
    return contacts, applied


def contact_cells_for(
    request: HttpRequest, columns: list[ContactColumn], contacts: list[Any]
) -> None:
    """Set ``contact.cells`` (``(column, ListCell or None)`` per column, in order) on
    each contact."""
    provided = [column.provide(request, contacts) if contacts else {} for column in columns]
    for contact in contacts:
        contact.cells = [
            (column, cells.get(contact.pk)) for column, cells in zip(columns, provided, strict=True)
        ]


def rendered_panels(registry: Registry, request: HttpRequest, obj: Any) -> list[dict[str, Any]]:
    """The panels of ``registry`` that have something to show for ``obj``, in order."""
    panels = []
    for panel in registry:
        html = panel.render(request, obj)
        if html is not None:
            # The panel contract: render() returns HTML that is already safe.
            panels.append({"key": panel.key, "title": panel.title, "html": mark_safe(html)})
    return panels


def normalise_model_label(model_label: str) -> str:
    """``app_label.model_name`` in lower case, as ``Model._meta.label_lower``."""
    return model_label.strip().lower()


def providers_for(model_label: str) -> list[ApiFieldProvider]:
    """The providers registered for a model, whatever the case of either label."""
    wanted = normalise_model_label(model_label)
    return [p for p in api_field_providers if p.model_label == wanted]
