from django.apps import AppConfig


class PredictionAppConfig(AppConfig):
    """Holds the prediction capability's models and migrations (label ai_prediction)."""

    name = "ai_features.capabilities.prediction"
    label = "ai_prediction"
    verbose_name = "AI prediction"
    default_auto_field = "django.db.models.BigAutoField"
