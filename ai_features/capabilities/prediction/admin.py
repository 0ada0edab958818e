from django.contrib import admin

from ai_features.capabilities.prediction.models import (
    BiasAudit,
    ContactScore,
    ModelVersion,
    SensitiveAttribute,
)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("workspace", "number", "status", "is_live", "trained_at", "auc")
    list_filter = ("status", "is_live", "workspace")
    readonly_fields = ("feature_names", "coefficients", "metrics", "artifact")


@admin.register(ContactScore)
class ContactScoreAdmin(admin.ModelAdmin):
    list_display = ("contact", "workspace", "probability", "band", "scored_at")
    list_filter = ("band", "workspace")
    raw_id_fields = ("contact", "model_version")


@admin.register(BiasAudit)
class BiasAuditAdmin(admin.ModelAdmin):
    list_display = ("model_version", "created_at", "threshold")


@admin.register(SensitiveAttribute)
class SensitiveAttributeAdmin(admin.ModelAdmin):
    list_display = ("name", "workspace", "created_at")
