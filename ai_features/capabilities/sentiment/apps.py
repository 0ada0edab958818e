from django.apps import AppConfig


class SentimentAppConfig(AppConfig):
    """Holds the sentiment capability's models and migrations (label ai_sentiment)."""

    name = "ai_features.capabilities.sentiment"
    label = "ai_sentiment"
    verbose_name = "AI sentiment"
    default_auto_field = "django.db.models.BigAutoField"
