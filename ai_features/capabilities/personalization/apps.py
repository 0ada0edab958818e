from django.apps import AppConfig


class PersonalizationAppConfig(AppConfig):
    """Holds the personalization capability's models and migrations (label ai_personalization)."""

    name = "ai_features.capabilities.personalization"
    label = "ai_personalization"
    verbose_name = "AI personalization"
    default_auto_field = "django.db.models.BigAutoField"
