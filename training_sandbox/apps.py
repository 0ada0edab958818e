from django.apps import AppConfig


class TrainingSandboxConfig(AppConfig):
    name = "training_sandbox"
    verbose_name = "Training sandbox"
    default_auto_field = "django.db.models.BigAutoField"
