"""Integrations: CSV import, REST hooks and signed webhooks, exports.

``register()`` wires them into crmcore's extension points; crmcore's
AppConfig calls it from ``ready()``.
"""

from __future__ import annotations

from crmcore import extensions

_registered = False


def register() -> None:
    """Mount the API routes and pages, and queue webhook delivery when events commit."""
    global _registered
    if _registered:
        return
    _registered = True

    # Here, not at the top: this package loads with crmcore's models (its
    # ``models`` module), before these modules, which need them, can be imported.
    from crmcore import events
    from crmcore.integrations import admin, api, tasks

    del admin  # imported for its registrations (admin site)

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
    events.subscribe_batch(tasks.on_events_committed)
    extensions.run_reapers.register(
        extensions.RunReaper(
            key="imports", label="Imports", reap="crmcore.integrations.services.import_runs_reap"
        )
    )
