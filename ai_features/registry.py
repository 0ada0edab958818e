"""The capability registry: the contract every AI capability follows.

A capability is a class with a key, a waffle flag name, a title and a
description, the lesson that teaches it, and what it contributes: contact page
panels, API routes, background jobs and events. It is validated when it is
registered. The built-in capabilities are registered explicitly by
``AiFeaturesConfig.ready()``; a project adds its own with the
``AI_FEATURES_EXTRA_CAPABILITIES`` setting (dotted paths). No autodiscovery.

Everything a capability contributes (panels, pages, nav items, API routes,
API fields) is installed into crmcore's extension points *through the gate*
(``ai_features.surfaces``): panels render only for users the capability is on
for, every page view and API view is wrapped, nav items and API fields are
filtered. Registering a surface from ``ready()`` is refused, so a capability
cannot forget to ask the gate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from django.utils.module_loading import import_string

from ai_features import surfaces
from ai_features.declarations import Job, Schedule
from ai_features.surfaces import Audience
from crmcore import extensions
from crmcore.events import register_event

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class CapabilityError(ValueError):
    """A capability class that does not follow the contract."""


class Capability:
    """Base class of every AI capability. Subclasses end in ``Capability``.

    Everything it contributes is declared by the methods below and installed by
    the registry behind the gate (``ai_features.surfaces``). ``ready()`` may wire
    listeners, but registering a surface there directly is refused: that would
    bypass the gate.
    """

    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: The waffle flag behind it; defaults to ``ai_<key>``.
    flag_name: ClassVar[str] = ""
    #: Slug of the training_sandbox lesson that teaches it (None: no lesson yet).
    lesson: ClassVar[str | None] = None
    #: Events it emits: name -> description.
    events: ClassVar[dict[str, str]] = {}
    #: Dotted path of its facade class (what other capabilities may read), if any.
    facade: ClassVar[str | None] = None
    #: Audience of a nav item (by key) that is not for pilot users only.
    nav_audience: ClassVar[dict[str, Audience]] = {}
    #: Jobs (declared in ``jobs()``) that make a new or reset training sandbox
    #: ready for this capability, run in this order ...
    prepare_jobs: ClassVar[tuple[str, ...]] = ()
    #: ... after those of capabilities with a lower number (tone before churn).
    prepare_order: ClassVar[int] = 100

    def panels(self) -> list[extensions.ContactPanel]:
        """Contact page panels, rendered only where the gate says yes."""
        return []

    def deal_panels(self) -> list[extensions.DealPanel]:
        """Deal page panels, rendered only where the gate says yes."""
        return []

    def deal_badges(self) -> list[extensions.DealBadgeProvider]:
        """Badges on pipeline cards, given only where the gate says yes."""
        return []

    def pages(self) -> list[extensions.PageUrls]:
        """HTML URLconfs; every view in them is put behind the gate."""
        return []

    def nav_items(self) -> list[extensions.NavItem]:
        """Header links, shown where the gate (or ``nav_audience``) says so."""
        return []

    def api_routes(self) -> list[extensions.ApiRoute]:
        """API routes under /api/v1/; every view gets ``CapabilityPermission``."""
        return []

    def api_fields(self) -> list[extensions.ApiFieldProvider]:
        """Extra fields on API items (and exports), filled only where the gate says yes."""
        return []

    def jobs(self) -> list[Job]:
        """Background jobs, queued with ``scheduling.job_queue``."""
        return []

    def schedules(self) -> list[Schedule]:
        """Periodic jobs (Celery beat, or ``manage.py run_due_jobs``)."""
        return []

    def ready(self) -> None:
        """Wire anything else (event listeners). No database access, no surfaces."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key!r}>"


_SURFACE_REGISTRIES = (
    extensions.contact_panels,
    extensions.deal_panels,
    extensions.deal_badges,
    extensions.page_urls,
    extensions.nav_items,
    extensions.api_routes,
    extensions.api_field_providers,
)


class CapabilityRegistry:
    def __init__(self) -> None:
        self._capabilities: dict[str, Capability] = {}

    def register(self, capability_class: type[Capability]) -> type[Capability]:
        capability = self._validate(capability_class)
        existing = self._capabilities.get(capability.key)
        if existing is not None:
            if type(existing) is capability_class:
                return capability_class
            raise CapabilityError(f"A capability with key {capability.key!r} is already registered")
        if any(c.flag_name == capability.flag_name for c in self._capabilities.values()):
            raise CapabilityError(f"Flag {capability.flag_name!r} is already used")
        self._capabilities[capability.key] = capability
        self._install(capability)
        return capability_class

    def unregister(self, key: str) -> None:
        capability = self._capabilities.pop(key, None)
        if capability is None:
            return
        for panel in capability.panels():
            extensions.contact_panels.unregister(panel.key)
        for deal_panel in capability.deal_panels():
            extensions.deal_panels.unregister(deal_panel.key)
        for badges in capability.deal_badges():
            extensions.deal_badges.unregister(badges.key)
        for pages in capability.pages():
            extensions.page_urls.unregister(pages.prefix)
        for item in capability.nav_items():
            extensions.nav_items.unregister(item.key)
        for route in capability.api_routes():
            extensions.api_routes.unregister(route.prefix)
        for provider in capability.api_fields():
            extensions.api_field_providers.unregister(provider.key)

    def register_path(self, dotted_path: str) -> type[Capability]:
        try:
            capability_class = import_string(dotted_path)
        except ImportError as exc:
            raise CapabilityError(f"Cannot import capability {dotted_path!r}: {exc}") from exc
        return self.register(capability_class)

    def get(self, key: str) -> Capability:
        try:
            return self._capabilities[key]
        except KeyError:
            known = ", ".join(sorted(self._capabilities)) or "none"
            raise KeyError(f"Unknown capability {key!r} (known: {known})") from None

    def resolve(self, capability: str | Capability | type[Capability]) -> Capability:
        if isinstance(capability, Capability):
            return capability
        if isinstance(capability, type) and issubclass(capability, Capability):
            return self.get(capability.key)
        return self.get(capability)

    def keys(self) -> list[str]:
        return list(self._capabilities)

    def __iter__(self) -> Iterator[Capability]:
        return iter(list(self._capabilities.values()))

    def __contains__(self, key: object) -> bool:
        return key in self._capabilities

    def __len__(self) -> int:
        return len(self._capabilities)

    @staticmethod
    def _validate(capability_class: Any) -> Capability:
        if not (isinstance(capability_class, type) and issubclass(capability_class, Capability)):
            raise CapabilityError(f"{capability_class!r} is not a Capability subclass")
        name = capability_class.__name__
        if not name.endswith("Capability"):
            raise CapabilityError(f"{name}: capability class names end in 'Capability'")
        key = capability_class.key
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise CapabilityError(f"{name}: key {key!r} must match {KEY_RE.pattern}")
        for attr in ("title", "description"):
            if not str(getattr(capability_class, attr, "")).strip():
                raise CapabilityError(f"{name}: {attr} is required")
        if not capability_class.flag_name:
            capability_class.flag_name = f"ai_{key}"
        if not KEY_RE.match(capability_class.flag_name):
            raise CapabilityError(f"{name}: flag name {capability_class.flag_name!r} is invalid")
        return capability_class()

    @staticmethod
    def _install(capability: Capability) -> None:
        key = capability.key
        job_names = [job.name for job in capability.jobs()]
        if len(set(job_names)) != len(job_names):
            raise CapabilityError(f"{capability!r}: job names must be unique")
        for schedule in capability.schedules():
            if schedule.job not in job_names:
                raise CapabilityError(f"{capability!r}: schedule {schedule.name!r} names no job")
            schedule.cron_fields()
        for job in capability.prepare_jobs:
            if job not in job_names:
                raise CapabilityError(f"{capability!r}: prepare job {job!r} is not declared")
        for panel in capability.panels():
            extensions.contact_panels.register(surfaces.gated_panel(key, panel))
        for deal_panel in capability.deal_panels():
            extensions.deal_panels.register(surfaces.gated_deal_panel(key, deal_panel))
        for badges in capability.deal_badges():
            extensions.deal_badges.register(surfaces.gated_deal_badges(key, badges))
        for pages in capability.pages():
            extensions.page_urls.register(surfaces.gated_page_urls(key, pages))
        for item in capability.nav_items():
            audience = capability.nav_audience.get(item.key, surfaces.Audience.PILOT)
            extensions.nav_items.register(surfaces.gated_nav_item(key, item, audience))
        for route in capability.api_routes():
            extensions.api_routes.register(surfaces.gated_api_route(key, route))
        for provider in capability.api_fields():
            extensions.api_field_providers.register(surfaces.gated_field_provider(key, provider))
        for event_name, description in capability.events.items():
            register_event(event_name, description)
        before = [len(r) for r in _SURFACE_REGISTRIES]
        capability.ready()
        if [len(r) for r in _SURFACE_REGISTRIES] != before:
            raise CapabilityError(
                f"{capability!r}: ready() registered a surface directly; declare it in "
                "panels(), deal_panels(), deal_badges(), pages(), nav_items(), api_routes() "
                "or api_fields() so the gate is put in front of it"
            )


registry = CapabilityRegistry()
