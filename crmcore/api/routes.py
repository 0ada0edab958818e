"""The CRM resources on the /api/v1/ router."""

from crmcore.api import views


def register_core_routes(router) -> None:
    """Register the CRM viewsets (accounts, contacts, ...) on the API router."""
    router.register("accounts", views.AccountViewSet, basename="account")
    router.register("contacts", views.ContactViewSet, basename="contact")
    router.register("interactions", views.InteractionViewSet, basename="interaction")
    router.register("deals", views.DealViewSet, basename="deal")
    router.register("products", views.ProductViewSet, basename="product")
    router.register("orders", views.OrderViewSet, basename="order")
    router.register("campaigns", views.CampaignViewSet, basename="campaign")
    router.register("teams", views.TeamViewSet, basename="team")
    router.register("tasks", views.TaskViewSet, basename="task")
