"""Extension points that other apps fill in from ``AppConfig.ready()``.

crmcore never imports the apps that plug into it. Instead it offers a few
small, explicit registries:

* ``contact_panels``: panels rendered on the contact detail page.
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
from typing import Any

from django.http import HttpRequest


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
class NavItem:
    """A header link. Items with the same ``group`` share one drop-down menu
    named after it (the AI pages under "AI"), placed where its first item is."""

    key: str
    label: str
    url_name: str
    visible: Callable[[HttpRequest], bool] = lambda request: True
    order: int = 100
    group: str = ""


@dataclass(frozen=True)
class ApiRoute:
    """A viewset registered on the ``/api/v1/`` router, or raw URL patterns."""

    prefix: str
    viewset: Any = None
    basename: str | None = None
    urlpatterns: Any = None


@dataclass(frozen=True)
class PageUrls:
    prefix: str
    urlconf: str
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
            from django.utils.module_loading import import_string

            reap = import_string(reap)
        return reap(stale_after=stale_after)


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
nav_items = Registry("nav_items")
api_routes = Registry("api_routes")
page_urls = Registry("page_urls")
api_field_providers = Registry("api_field_providers")
merge_fields = Registry("merge_fields")
run_reapers = Registry("run_reapers")


def normalise_model_label(model_label: str) -> str:
    """``app_label.model_name`` in lower case, as ``Model._meta.label_lower``."""
    return model_label.strip().lower()


def providers_for(model_label: str) -> list[ApiFieldProvider]:
    """The providers registered for a model, whatever the case of either label."""
    wanted = normalise_model_label(model_label)
    return [p for p in api_field_providers if p.model_label == wanted]
