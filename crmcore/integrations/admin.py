"""Admin for the integration records (registered from ``crmcore.integrations.register``)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import models

from crmcore.integrations.models import (
    ImportMapping,
    ImportRun,
    WebhookDelivery,
    WebhookEndpoint,
)


@admin.register(ImportMapping)
class ImportMappingAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "workspace", "updated_at"]
    list_filter = ["kind", "workspace"]
    search_fields = ["name"]
    raw_id_fields = ["created_by"]


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "file_name",
        "status",
        "dry_run",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "workspace",
        "created_at",
    ]
    list_filter = ["status", "kind", "dry_run", "workspace"]
    list_select_related = ["workspace"]
    readonly_fields = [
        "status",
        "error",
        "total_rows",
        "processed_rows",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "created_at",
        "finished_at",
    ]
    raw_id_fields = ["created_by"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    # A target typed without a scheme is taken as https, as Django 6 will.
    formfield_overrides = {
        models.URLField: {"form_class": forms.URLField, "assume_scheme": "https"}
    }
    list_display = [
        "event",
        "target_url",
        "owner",
        "is_active",
        "consecutive_failures",
        "workspace",
    ]
    list_filter = ["is_active", "event", "workspace"]
    list_select_related = ["owner", "workspace"]
    search_fields = ["target_url", "owner__username"]
    exclude = ["secret"]
    readonly_fields = ["consecutive_failures", "created_at"]
    raw_id_fields = ["owner"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "message_id",
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event"]
    list_select_related = ["endpoint"]
    search_fields = ["message_id"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
