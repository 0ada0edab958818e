from django.utils.functional import SimpleLazyObject

from crmcore import extensions


def crm(request):
    """The header's navigation and the active workspace, for every page."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    items = [item for item in extensions.nav_items if item.visible(request)]
    return {
        "workspace": request.workspace,
        "extension_nav_items": [item for item in items if not item.replaces],
        "nav_replacements": {item.replaces: item for item in items if item.replaces},
        # Every page under /campaigns/ (the core's and any app's) lights the one Campaigns link.
        "nav_section": "campaigns" if request.path.startswith("/campaigns/") else "",
        # Asked only where a page shows notices (the dashboard).
        "notices": SimpleLazyObject(lambda: extensions.notices_for(request)),
    }
