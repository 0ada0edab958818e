from importlib import import_module

from django.apps import AppConfig

from crmcore import checks, integrations  # noqa: F401  (checks registers itself)


class CrmCoreConfig(AppConfig):
    name = "crmcore"
    verbose_name = "CRM"
    default_auto_field = "django.db.models.BigAutoField"

    def import_models(self) -> None:
        # The integrations (imports, webhooks) keep their models in their own
        # module; they belong to this app and load with its models.
        super().import_models()
        import_module("crmcore.integrations.models")

    def ready(self) -> None:
        integrations.register()
