from django.apps import AppConfig


class PersonalizationAppConfig(AppConfig):
    """Holds the personalization capability's models and migrations (label ai_personalization)."""

    name = "ai_features.capabilities.personalization"
    label = "ai_personalization"
    verbose_name = "AI personalization"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The personal facts a campaign template may name ({next_product}, ...).
        from ai_features.capabilities.personalization.builder import MERGE_FIELDS
        from crmcore import extensions

        for item in MERGE_FIELDS:
            extensions.merge_fields.register(item)
