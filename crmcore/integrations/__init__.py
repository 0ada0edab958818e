"""Integrations: CSV import, REST hooks and signed webhooks, exports.

``register()`` wires them into crmcore's extension points; crmcore's
AppConfig calls it from ``ready()``.
"""

from __future__ import annotations

_registered = False


def register() -> None:
    """Mount the API routes and pages, and subscribe webhook delivery to events."""
    global _registered
    if _registered:
        return
    _registered = True

    from django.db.models.signals import post_delete, post_save

    from crmcore import events, extensions
    from crmcore.integrations import admin, api, services, tasks, webhooks
    from crmcore.integrations.models import WebhookEndpoint

    del admin, tasks  # imported for their registrations (admin site, Celery tasks)

    # Cache invalidation only: the listener's "who is subscribed" set.
    for signal in (post_save, post_delete):
        signal.connect(
            services.subscribed_events_flush,
            sender=WebhookEndpoint,
            dispatch_uid=f"webhooks-subscribed-{signal is post_save}",
        )

    extensions.api_routes.register(
        extensions.ApiRoute(prefix="hooks", viewset=api.WebhookSubscriptionViewSet, basename="hook")
    )
    extensions.api_routes.register(
        extensions.ApiRoute(prefix="imports", viewset=api.ImportRunViewSet, basename="import-run")
    )
    extensions.api_routes.register(
        extensions.ApiRoute(prefix="exports", urlpatterns=api.export_urlpatterns)
    )
    extensions.page_urls.register(
        extensions.PageUrls(
            prefix="integrations", urlconf="crmcore.integrations.urls", namespace="integrations"
        )
    )
    extensions.nav_items.register(
        extensions.NavItem(
            key="integrations-import",
            label="Import",
            url_name="integrations:import-new",
            visible=lambda request: request.user.is_authenticated,
            order=900,
        )
    )
    events.subscribe(webhooks.on_event)
    extensions.run_reapers.register(
        extensions.RunReaper(
            key="imports", label="Imports", reap="crmcore.integrations.services.import_runs_reap"
        )
    )
