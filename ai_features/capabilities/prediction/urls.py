"""Pages of the prediction capability, mounted under /ai/prediction/."""

from django.urls import path

from ai_features.capabilities.prediction import views

app_name = "prediction"

urlpatterns = [
    path("", views.ModelVersionListView.as_view(), name="model-list"),
    path("retrain/", views.ModelRetrainView.as_view(), name="model-retrain"),
    path("models/<int:pk>/", views.ModelVersionDetailView.as_view(), name="model-card"),
    path("models/<int:pk>/publish/", views.ModelVersionPublishView.as_view(), name="model-publish"),
    path("models/<int:pk>/bias/", views.BiasAuditView.as_view(), name="bias-audit"),
    path("forecast/", views.ForecastView.as_view(), name="forecast"),
    path("deals/", views.DealTableView.as_view(), name="deal-table"),
    path(
        "contacts/<int:pk>/feedback/",
        views.ContactFeedbackView.as_view(),
        name="contact-feedback",
    ),
]
