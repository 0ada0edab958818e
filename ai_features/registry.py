"""The capability registry: installs capabilities behind the gate.

A capability (``ai_features.declarations.Capability``, re-exported here) is a
class with a key, a waffle flag name, a title and a description, the lesson
that teaches it, and what it contributes: contact page panels, API routes,
background jobs and events. It is validated when it is registered. The
built-in capabilities are registered explicitly by ``AiFeaturesConfig.ready()``; a
project adds its own with the ``AI_FEATURES_EXTRA_CAPABILITIES`` setting
(dotted paths). No autodiscovery.

Everything a capability contributes (panels, pages, nav items, API routes,
API fields) is installed into crmcore's extension points *through the gate*
(``ai_features.surfaces``): panels render only for users the capability is on
for, every page view and API view is wrapped, nav items and API fields are
filtered. Registering a surface from ``ready()`` is refused, so a capability
cannot forget to ask the gate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils.module_loading import import_string

from ai_features import surfaces
from ai_features.declarations import (
    KEY_RE,
    Audience,
    Capability,
    CapabilityError,
    InstalledCapabilities,
    Job,
    Schedule,
    installed,
)
from crmcore import extensions
from crmcore.events import register_event

__all__ = [
    "Audience",
    "Capability",
    "CapabilityError",
    "CapabilityRegistry",
    "Job",
    "Schedule",
    "registry",
]

_SURFACE_REGISTRIES = (
    extensions.contact_panels,
    extensions.deal_panels,
    extensions.deal_badges,
    extensions.contact_columns,
    extensions.page_urls,
    extensions.nav_items,
    extensions.api_routes,
    extensions.api_field_providers,
)


class CapabilityRegistry:
    """Validates a capability and installs its contributions behind the gate.

    Storage is an ``InstalledCapabilities`` (``declarations.installed`` for the
    project's registry, a fresh one otherwise), which the gate reads.
    """

    def __init__(self, store: InstalledCapabilities | None = None) -> None:
        self._store = store if store is not None else InstalledCapabilities()

    def register(self, capability_class: type[Capability]) -> type[Capability]:
        capability = self._validate(capability_class)
        existing = self._store.find(capability.key)
        if existing is not None:
            if type(existing) is capability_class:
                return capability_class
            raise CapabilityError(f"A capability with key {capability.key!r} is already registered")
        if any(c.flag_name == capability.flag_name for c in self._store):
            raise CapabilityError(f"Flag {capability.flag_name!r} is already used")
        self._store.add(capability)
        self._install(capability)
        return capability_class

    def unregister(self, key: str) -> None:
        capability = self._store.remove(key)
        if capability is None:
            return
        for panel in capability.panels():
            extensions.contact_panels.unregister(panel.key)
        for deal_panel in capability.deal_panels():
            extensions.deal_panels.unregister(deal_panel.key)
        for badges in capability.deal_badges():
            extensions.deal_badges.unregister(badges.key)
        for column in capability.contact_columns():
            extensions.contact_columns.unregister(column.key)
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
        return self._store.get(key)

    def resolve(self, capability: str | Capability | type[Capability]) -> Capability:
        return self._store.resolve(capability)

    def keys(self) -> list[str]:
        return self._store.keys()

    def __iter__(self) -> Iterator[Capability]:
        return iter(self._store)

    def __contains__(self, key: object) -> bool:
        return key in self._store

    def __len__(self) -> int:
        return len(self._store)

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
        for column in capability.contact_columns():
            extensions.contact_columns.register(surfaces.gated_contact_column(key, column))
        for pages in capability.pages():
            extensions.page_urls.register(surfaces.gated_page_urls(key, pages))
        for item in capability.nav_items():
            audience = capability.nav_audience.get(item.key, Audience.PILOT)
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
                "panels(), deal_panels(), deal_badges(), contact_columns(), pages(), nav_items(), "
                "api_routes() "
                "or api_fields() so the gate is put in front of it"
            )


registry = CapabilityRegistry(installed)
