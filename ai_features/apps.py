from django.apps import AppConfig

BUILTIN_CAPABILITIES = [
    "ai_features.capabilities.prediction.capability.PredictionCapability",
    "ai_features.capabilities.personalization.capability.PersonalizationCapability",
    "ai_features.capabilities.sentiment.capability.SentimentCapability",
]


class AiFeaturesConfig(AppConfig):
    name = "ai_features"
    verbose_name = "AI features"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Wiring only: no database access, no heavy imports.
        from ai_features.conf import get_setting
        from ai_features.registry import registry

        for path in [*BUILTIN_CAPABILITIES, *get_setting("EXTRA_CAPABILITIES")]:
            registry.register_path(path)
