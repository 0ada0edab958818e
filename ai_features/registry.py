"""The capability registry: the contract every AI capability follows.

A capability is a class with a key, a waffle flag name, a title and a
description, the lesson that teaches it, and what it contributes: contact page
panels, API routes, background jobs and events. It is validated when it is
registered. The built-in capabilities are registered explicitly by
``AiFeaturesConfig.ready()``; a project adds its own with the
``AI_FEATURES_EXTRA_CAPABILITIES`` setting (dotted paths). No autodiscovery.

Everything a capability contributes is installed into crmcore's extension
points *through the gate*: panels are wrapped so they render only for users
the capability is enabled for, and API views get the capability permission.
A capability cannot forget to ask the gate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from django.utils.module_loading import import_string

from crmcore import extensions
from crmcore.events import register_event

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class CapabilityError(ValueError):
    """A capability class that does not follow the contract."""


class Capability:
    """Base class of every AI capability. Subclasses end in ``Capability``."""

    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: The waffle flag behind it; defaults to ``ai_<key>``.
    flag_name: ClassVar[str] = ""
    #: Slug of the training_sandbox lesson that teaches it (None: no lesson yet).
    lesson: ClassVar[str | None] = None
    #: Events it emits: name -> description.
    events: ClassVar[dict[str, str]] = {}

    def panels(self) -> list[extensions.ContactPanel]:
        """Contact page panels. Installed behind the gate by the registry."""
        return []

    def api_routes(self) -> list[extensions.ApiRoute]:
        """API routes under /api/v1/. Their views must use CapabilityPermission."""
        return []

    def jobs(self) -> dict[str, str]:
        """Background jobs: a name -> the dotted path of the Celery task."""
        return {}

    def ready(self) -> None:
        """Wire anything else (event listeners, signals). No database access."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key!r}>"


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
        for route in capability.api_routes():
            extensions.api_routes.unregister(route.prefix)

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
        from ai_features.gate import gated_panel

        for panel in capability.panels():
            extensions.contact_panels.register(gated_panel(capability, panel))
        for route in capability.api_routes():
            extensions.api_routes.register(route)
        for event_name, description in capability.events.items():
            register_event(event_name, description)
        capability.ready()


registry = CapabilityRegistry()


def get_capability(key: str | Capability) -> Capability:
    return registry.resolve(key)
