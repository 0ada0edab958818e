from django.apps import AppConfig

from crmcore import extensions


class PersonalizationAppConfig(AppConfig):
    """Holds the personalization capability's models and migrations (label ai_personalization)."""

    name = "ai_features.capabilities.personalization"
    label = "ai_personalization"
    verbose_name = "AI personalization"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The personal facts a campaign template may name ({next_product}, ...).
        # Imported here: the builder reaches the gate and its models, which
        # cannot load while the app registry is being populated.
        from ai_features.capabilities.personalization.builder import MERGE_FIELDS

        for item in MERGE_FIELDS:
            extensions.merge_fields.register(item)
