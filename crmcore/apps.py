from django.apps import AppConfig


class CrmCoreConfig(AppConfig):
    name = "crmcore"
    verbose_name = "CRM"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crmcore import checks, integrations  # noqa: F401  (checks registers itself)

        integrations.register()
