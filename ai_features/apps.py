from django.apps import AppConfig


class AiFeaturesConfig(AppConfig):
    name = "ai_features"
    verbose_name = "AI features"
    default_auto_field = "django.db.models.BigAutoField"
