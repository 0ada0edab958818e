from django.urls import path

from ai_features.capabilities.sentiment import views

app_name = "sentiment"

urlpatterns = [
    path("alerts/", views.SentimentAlertListView.as_view(), name="alert-list"),
    path(
        "alerts/<int:pk>/acknowledge/",
        views.SentimentAlertAcknowledgeView.as_view(),
        name="alert-acknowledge",
    ),
    path(
        "interactions/<int:pk>/correction/",
        views.ToneCorrectionCreateView.as_view(),
        name="correction-create",
    ),
    path("model/", views.SentimentModelCardView.as_view(), name="model-card"),
    path("jobs/", views.SentimentJobStartView.as_view(), name="job-start"),
]
