from django.apps import AppConfig
from django.core.signals import request_finished, request_started
from django.db.models.signals import post_migrate

from ai_features.conf import app_settings
from crmcore import extensions

BUILTIN_CAPABILITIES = [
    "ai_features.capabilities.prediction.capability.PredictionCapability",
    "ai_features.capabilities.personalization.capability.PersonalizationCapability",
    "ai_features.capabilities.sentiment.capability.SentimentCapability",
]


def _staff_only(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.is_staff)


class AiFeaturesConfig(AppConfig):
    name = "ai_features"
    verbose_name = "AI features"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Wiring only: no database access. These import models, which cannot
        # load while Django populates the app registry (this module loads then).
        from ai_features import (
            per_request,
            signals,  # noqa: F401  (cache invalidation receivers)
            surfaces,
        )
        from ai_features.metrics import suggestion_events_queue
        from ai_features.registry import registry
        from ai_features.scheduling import schedules_ensure
        from ai_features.services import capability_flags_ensure

        for path in [*BUILTIN_CAPABILITIES, *app_settings.EXTRA_CAPABILITIES]:
            registry.register_path(path)

        per_request.on_close(suggestion_events_queue)
        request_started.connect(per_request.open_scope, dispatch_uid="ai_request_scope_open")
        request_finished.connect(per_request.close_scope, dispatch_uid="ai_request_scope_close")
        post_migrate.connect(
            capability_flags_ensure, sender=self, dispatch_uid="ai_capability_flags_ensure"
        )
        post_migrate.connect(
            schedules_ensure, sender=self, dispatch_uid="ai_capability_schedules_ensure"
        )
        extensions.page_urls.register(
            extensions.PageUrls(prefix="ai", urlconf="ai_features.urls", namespace="ai")
        )
        extensions.nav_items.register(
            extensions.NavItem(
                key="ai-rollout",
                label="AI rollout",
                url_name="ai:rollout-dashboard",
                visible=_staff_only,
                order=200,
                group=surfaces.NAV_GROUP,
            )
        )
        extensions.api_routes.register(
            extensions.ApiRoute(prefix="rollout", urlpatterns="ai_features.api")
        )
        extensions.run_reapers.register(
            extensions.RunReaper(key="jobs", label="Jobs", reap="ai_features.jobs.job_runs_reap")
        )
