from django.apps import AppConfig


class CrmCoreConfig(AppConfig):
    name = "crmcore"
    verbose_name = "CRM"
    default_auto_field = "django.db.models.BigAutoField"
