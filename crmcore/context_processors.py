from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import SimpleLazyObject

from crmcore import extensions


@dataclass
class NavGroup:
    """A drop-down menu of the header: the visible items of one ``NavItem.group``."""

    label: str
    items: list[Any] = field(default_factory=list)
    is_group: bool = True


def nav_entries(items: list[Any]) -> list[Any]:
    """Items in order; those of a group gathered into one NavGroup where the first one is."""
    entries: list[Any] = []
    groups: dict[str, NavGroup] = {}
    for item in items:
        if not item.group:
            entries.append(item)
            continue
        if item.group not in groups:
            groups[item.group] = NavGroup(label=item.group)
            entries.append(groups[item.group])
        groups[item.group].items.append(item)
    return entries


def crm(request):
    """The header's navigation and the active workspace, for every page."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    items = [item for item in extensions.nav_items if item.visible(request)]
    shown = [item for item in items if not item.replaces]
    return {
        "workspace": request.workspace,
        "extension_nav_items": shown,
        "extension_nav_entries": nav_entries(shown),
        "nav_replacements": {item.replaces: item for item in items if item.replaces},
        # Every page under /campaigns/ (the core's and any app's) lights the one Campaigns link.
        "nav_section": "campaigns" if request.path.startswith("/campaigns/") else "",
        # Asked only where a page shows notices (the dashboard).
        "notices": SimpleLazyObject(lambda: extensions.notices_for(request)),
    }
