"""HTML pages of the AI features, mounted at /ai/ through crmcore.extensions.page_urls."""

from django.urls import path

from ai_features import views

app_name = "ai"

urlpatterns = [
    path("rollout/", views.RolloutDashboardView.as_view(), name="rollout-dashboard"),
    path("rollout/plans/<slug:key>/", views.ReleasePlanView.as_view(), name="rollout-plan"),
    path("rollout/audit/", views.AuditLogView.as_view(), name="rollout-audit"),
    path("rollout/audit.csv", views.AuditLogCsvView.as_view(), name="rollout-audit-csv"),
]
