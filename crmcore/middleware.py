from django.utils.functional import SimpleLazyObject

from crmcore.workspaces import resolve_workspace


class WorkspaceMiddleware:
    """Sets ``request.workspace``, resolved lazily.

    Lazily, so that DRF's token authentication (which runs after the
    middleware and sets ``request.user`` on the underlying request) is taken
    into account, and so that requests that never touch CRM data pay nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace = SimpleLazyObject(
            lambda: resolve_workspace(user=request.user, session=getattr(request, "session", None))
        )
        return self.get_response(request)
