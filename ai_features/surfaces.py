"""Gated surfaces: the one page mixin, the one API permission, and the wrappers
the registry puts around everything a capability contributes.

Where a capability is off for a user, each of its pages and API endpoints
answers **403 with a plain reason** ("Sentiment is not enabled for your team.").
403, not 404: the page exists and the reason tells the user what to do about it
(ask to join the pilot, pass the lesson, wait for the kill switch to be lifted);
objects of another workspace still answer 404.

A surface's audience is declared on its view (``capability_audience``):

* ``Audience.PILOT`` (the default): the users the gate says the capability is on for;
* ``Audience.GOVERNANCE``: those users and staff, whatever their own pilot
  membership (model cards, versions, bias audits: the flag decides who gets
  predictions, not who audits them);
* ``Audience.SIGNED_IN``: every signed-in user, for a surface with a plain
  fallback that asks the gate for its AI parts itself (the campaign builder is
  a mail merge where personalization is off).
"""

from __future__ import annotations

import functools
from dataclasses import replace
from importlib import import_module
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern, URLResolver
from django.utils.html import format_html
from django.utils.module_loading import import_string
from rest_framework.permissions import BasePermission

from ai_features import gate
from ai_features.declarations import Audience, CapabilityRef, installed
from ai_features.exposure import exposure_key
from crmcore import extensions


def audience_of(view: Any) -> Audience:
    """The audience a view declares (class views: on the class), else PILOT."""
    for obj in (view, getattr(view, "view_class", None), getattr(view, "cls", None)):
        value = getattr(obj, "capability_audience", None) if obj is not None else None
        if value is not None:
            return Audience(value)
    return Audience.PILOT


def denied_reason(capability: CapabilityRef, audience: Audience, request: Any) -> str | None:
    """None when ``request``'s user may use the surface, else the plain reason."""
    user = getattr(request, "user", None)
    workspace = getattr(request, "workspace", None)
    if user is None or not user.is_authenticated:
        return "Sign in first."
    if audience is Audience.SIGNED_IN:
        return None
    if audience is Audience.GOVERNANCE and getattr(user, "is_staff", False):
        return None
    if gate.is_enabled(capability, user, workspace):
        return None
    return gate.disabled_reason(capability, user, workspace)


class CapabilityPageMixin:
    """For a capability's class-based pages: sign-in, then the gate (403 with the reason).

    Set ``capability`` (its key) and, where it is not PILOT, ``capability_audience``.
    """

    capability: str = ""
    capability_audience: Audience = Audience.PILOT
    staff_only: bool = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        reason = denied_reason(self.capability, self.capability_audience, request)
        if reason is not None:
            raise PermissionDenied(reason)
        if self.staff_only and not request.user.is_staff:
            raise PermissionDenied("Only admins can do this.")
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response


class CapabilityPermission(BasePermission):
    """The one API permission: the view's ``capability`` must be on for the caller.

    Answers 403 with the plain reason. Honors the view's ``capability_audience``.
    """

    message = "This capability is not enabled for you."

    def has_permission(self, request: Any, view: Any) -> bool:
        reason = denied_reason(view.capability, audience_of(view), request)
        if reason is None:
            return True
        self.message = reason
        return False


# -- wrappers the registry applies to every contribution --------------------------


def _with_capability_permission(cls: Any, capability: str) -> Any:
    """A subclass of a DRF view class with CapabilityPermission bound to ``capability``."""
    permissions = list(cls.permission_classes)
    if CapabilityPermission not in permissions:
        permissions.append(CapabilityPermission)
    return type(
        cls.__name__,
        (cls,),
        {
            "__module__": cls.__module__,
            "__doc__": cls.__doc__,
            "capability": getattr(cls, "capability", None) or capability,
            "permission_classes": permissions,
        },
    )


def _gate_drf_view(capability: str, callback: Any) -> Any:
    """Rebuild a DRF view with CapabilityPermission bound to ``capability``."""
    gated = _with_capability_permission(callback.cls, capability)
    initkwargs = dict(getattr(callback, "initkwargs", {}))
    actions = getattr(callback, "actions", None)
    if actions is not None:
        return gated.as_view(actions, **initkwargs)
    return gated.as_view(**initkwargs)


def gate_view(capability: str, callback: Any) -> Any:
    """Wrap one view of a capability so the gate answers before it runs."""
    if getattr(callback, "cls", None) is not None and hasattr(callback.cls, "permission_classes"):
        return _gate_drf_view(capability, callback)
    audience = audience_of(callback)

    @functools.wraps(callback)
    def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        reason = denied_reason(capability, audience, request)
        if reason is not None:
            raise PermissionDenied(reason)
        return callback(request, *args, **kwargs)

    gated.capability = capability  # type: ignore[attr-defined]
    return gated


def _gate_patterns(capability: str, patterns: list[Any]) -> list[Any]:
    gated: list[Any] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = _gate_patterns(capability, list(pattern.url_patterns))
            resolver = URLResolver(
                pattern.pattern,
                inner,
                pattern.default_kwargs,
                pattern.app_name,
                pattern.namespace,
            )
            gated.append(resolver)
        elif isinstance(pattern, URLPattern):
            gated.append(
                URLPattern(
                    pattern.pattern,
                    gate_view(capability, pattern.callback),
                    pattern.default_args,
                    pattern.name,
                )
            )
        else:  # pragma: no cover - Django has no other kind
            raise TypeError(f"Unexpected URL pattern {pattern!r}")
    return gated


class GatedUrlconf:
    """A capability's URLconf (dotted path) with every view behind the gate.

    Imported and wrapped lazily, when Django first resolves a URL, so
    ``AppConfig.ready()`` stays free of view imports.
    """

    def __init__(self, capability: str, urlconf: str, app_name: str | None = None) -> None:
        self.capability = capability
        self.urlconf = urlconf
        self.app_name = app_name
        self._patterns: list[Any] | None = None

    @property
    def urlpatterns(self) -> list[Any]:
        if self._patterns is None:
            try:
                target = import_module(self.urlconf)
            except ImportError:
                target = import_string(self.urlconf)
            patterns = getattr(target, "urlpatterns", target)
            self._patterns = _gate_patterns(self.capability, list(patterns))
        return self._patterns

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GatedUrlconf) and (other.capability, other.urlconf) == (
            self.capability,
            self.urlconf,
        )

    def __hash__(self) -> int:
        return hash((self.capability, self.urlconf))

    def __repr__(self) -> str:
        return f"<GatedUrlconf {self.capability}: {self.urlconf}>"


def gated_page_urls(capability: str, pages: extensions.PageUrls) -> extensions.PageUrls:
    urlconf = pages.urlconf
    if isinstance(urlconf, str):
        urlconf = GatedUrlconf(capability, urlconf, pages.namespace)
    elif not isinstance(urlconf, GatedUrlconf):
        raise TypeError(f"{capability}: give a page URLconf as a dotted path, not {urlconf!r}")
    return replace(pages, urlconf=urlconf)


def gated_api_route(capability: str, route: extensions.ApiRoute) -> extensions.ApiRoute:
    viewset = route.viewset
    if viewset is not None:
        viewset = _with_capability_permission(viewset, capability)
    urlpatterns = route.urlpatterns
    if urlpatterns is not None and not isinstance(urlpatterns, GatedUrlconf):
        urlpatterns = GatedUrlconf(capability, urlpatterns)
    return replace(route, viewset=viewset, urlpatterns=urlpatterns)


#: The header menu every capability's pages sit under (one "AI" drop-down).
NAV_GROUP = "AI"


def gated_nav_item(
    capability: str, item: extensions.NavItem, audience: Audience = Audience.PILOT
) -> extensions.NavItem:
    """The item shown where the gate says yes, in the header's "AI" menu.

    A page for every signed-in user (``Audience.SIGNED_IN``, e.g. the campaign
    builder, a plain mail merge where the capability is off) stays a
    top-level link: it is not an AI page for most of the people who see it.
    """
    inner = item.visible

    def visible(request: Any) -> bool:
        return denied_reason(capability, audience, request) is None and bool(inner(request))

    group = item.group or ("" if audience == Audience.SIGNED_IN else NAV_GROUP)
    return replace(item, visible=visible, group=group)


def gated_field_provider(
    capability: str, provider: extensions.ApiFieldProvider
) -> extensions.ApiFieldProvider:
    inner = provider.provide

    def provide(request: Any, objects: list[Any]) -> dict[int, dict[str, Any]]:
        if not objects or not gate.is_enabled(
            capability, request.user, getattr(request, "workspace", None)
        ):
            return {}
        # Contacts who object to profiling get no AI field (items about them,
        # e.g. interactions, carry their contact on ``.contact``).
        objects = [o for o in objects if gate.may_profile(getattr(o, "contact", o))]
        return inner(request, objects) if objects else {}

    return replace(provider, provide=provide)


def gated_panel(capability: str, panel: extensions.ContactPanel) -> extensions.ContactPanel:
    """A contact page panel that renders only where the gate says yes.

    A user who had the capability (their exposure is remembered in the cache)
    and no longer has it sees a one-line notice in its place instead of a
    panel that silently disappeared. No query: the cache alone decides.
    """
    inner = panel.render

    def render(request: Any, contact: Any) -> str | None:
        if not gate.may_profile(contact):
            return None
        if not gate.is_enabled(capability, request.user, request.workspace):
            return switched_off_notice(capability, request.user, request.workspace)
        return inner(request, contact)

    return replace(panel, render=render)


def switched_off_notice(capability: str, user: Any, workspace: Any) -> str | None:
    """ "Prediction has been switched off for now." for a user who had it, else None."""
    if workspace is not None and workspace.is_sandbox:
        return None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not cache.get(exposure_key(capability, user.pk)):
        return None
    title = installed.get(capability).title
    if gate.kill_switch_active():
        text = f"{title} is switched off for everyone for now."
    else:
        text = f"{title} has been switched off for you for now."
    return format_html(
        '<p class="muted ai-notice" data-testid="ai-notice">{} {}</p>',
        text,
        "Everything else works as before.",
    )


def gated_deal_panel(capability: str, panel: extensions.DealPanel) -> extensions.DealPanel:
    """A deal page panel that renders only where the gate says yes."""
    inner = panel.render

    def render(request: Any, deal: Any) -> str | None:
        if not gate.is_enabled(capability, request.user, request.workspace):
            return None
        return inner(request, deal)

    return replace(panel, render=render)


def gated_contact_column(
    capability: str, column: extensions.ContactColumn
) -> extensions.ContactColumn:
    """A contact list column shown, filtered on and sorted by only where the gate
    says yes; contacts who object to profiling get no value and match no filter."""
    inner_visible, inner_provide = column.visible, column.provide
    inner_filter, inner_sort = column.filter, column.sort

    def visible(request: Any) -> bool:
        return gate.is_enabled(
            capability, request.user, getattr(request, "workspace", None)
        ) and inner_visible(request)

    def provide(request: Any, contacts: list[Any]) -> dict[int, extensions.ListCell]:
        contacts = [c for c in contacts if gate.may_profile(c)]
        if not contacts or not visible(request):
            return {}
        return inner_provide(request, contacts)

    def filter_(request: Any, contacts: Any, value: str) -> Any:
        if inner_filter is None or not visible(request):
            return contacts
        return inner_filter(request, gate.profiled(contacts), value)

    def sort(request: Any, contacts: Any, descending: bool) -> Any:
        if inner_sort is None or not visible(request):
            return contacts
        return inner_sort(request, contacts, descending)

    return replace(
        column,
        visible=visible,
        provide=provide,
        filter=filter_ if inner_filter is not None else None,
        sort=sort if inner_sort is not None else None,
    )


def gated_deal_badges(
    capability: str, provider: extensions.DealBadgeProvider
) -> extensions.DealBadgeProvider:
    """Pipeline card badges, given only where the gate says yes."""
    inner = provider.provide

    def provide(request: Any, deals: list[Any]) -> dict[int, extensions.DealBadge]:
        if not deals or not gate.is_enabled(
            capability, request.user, getattr(request, "workspace", None)
        ):
            return {}
        return inner(request, deals)

    return replace(provider, provide=provide)
