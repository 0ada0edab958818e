from dataclasses import replace

from django.apps import AppConfig

from crmcore import extensions


def _in_sandbox(request) -> bool:
    return request.user.is_authenticated and request.workspace.is_sandbox


def _outside_sandbox(request) -> bool:
    return request.user.is_authenticated and not request.workspace.is_sandbox


def _signed_in(request) -> bool:
    return request.user.is_authenticated


def _staff(request) -> bool:
    return request.user.is_authenticated and request.user.is_staff


class TrainingSandboxConfig(AppConfig):
    name = "training_sandbox"
    verbose_name = "Training sandbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Wiring only: no database access. These import models, which cannot
        # load while Django populates the app registry (this module loads then).
        from ai_features import gate
        from crmcore import events
        from training_sandbox import signals  # noqa: F401  (cache invalidation)
        from training_sandbox.notices import capability_notices
        from training_sandbox.selectors import lesson_passed
        from training_sandbox.services import sandbox_event_listener

        extensions.page_urls.register(
            extensions.PageUrls(
                prefix="sandbox", urlconf="training_sandbox.urls", namespace="sandbox"
            )
        )
        for item in (
            extensions.NavItem(
                "sandbox-enter", "Enter sandbox", "sandbox:enter", _outside_sandbox, 50
            ),
            extensions.NavItem("sandbox-leave", "Leave sandbox", "sandbox:leave", _in_sandbox, 50),
            extensions.NavItem("sandbox-lessons", "Lessons", "sandbox:lesson-list", _signed_in, 51),
            extensions.NavItem("sandbox-progress", "Training", "sandbox:progress", _staff, 52),
        ):
            extensions.nav_items.register(replace(item, group="Training"))
        extensions.notice_providers.register(
            extensions.NoticeProvider("training", capability_notices, order=10)
        )
        events.subscribe(sandbox_event_listener)
        gate.register_training_provider(lesson_passed)
