from dataclasses import replace

from django.apps import AppConfig


def _in_sandbox(request) -> bool:
    return request.user.is_authenticated and request.workspace.is_sandbox


def _outside_sandbox(request) -> bool:
    return request.user.is_authenticated and not request.workspace.is_sandbox


def _signed_in(request) -> bool:
    return request.user.is_authenticated


def _staff(request) -> bool:
    return request.user.is_authenticated and request.user.is_staff


def _lesson_passed(user, capability_key: str) -> bool:
    from training_sandbox.selectors import lesson_passed

    return lesson_passed(user, capability_key)


def _record_sandbox_event(event) -> None:
    if event.is_sandbox:
        from training_sandbox.services import sandbox_event_record

        sandbox_event_record(event=event)


class TrainingSandboxConfig(AppConfig):
    name = "training_sandbox"
    verbose_name = "Training sandbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Wiring only: no database access, no heavy imports.
        from ai_features import gate
        from crmcore import events, extensions
        from training_sandbox import signals  # noqa: F401  (cache invalidation)

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
        events.subscribe(_record_sandbox_event)
        gate.register_training_provider(_lesson_passed)
