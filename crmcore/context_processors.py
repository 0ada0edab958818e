from django.utils.functional import SimpleLazyObject

from crmcore import extensions


def crm(request):
    """The header's navigation and the active workspace, for every page."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "workspace": request.workspace,
        "extension_nav_items": [item for item in extensions.nav_items if item.visible(request)],
        # Asked only where a page shows notices (the dashboard).
        "notices": SimpleLazyObject(lambda: extensions.notices_for(request)),
    }
