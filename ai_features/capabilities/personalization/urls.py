"""Pages of the campaign builder, mounted under /campaigns/builder/."""

from django.urls import path

from ai_features.capabilities.personalization import views

app_name = "personalization"

urlpatterns = [
    path("", views.CampaignBuilderListView.as_view(), name="campaign-list"),
    path("new/", views.CampaignBuilderCreateView.as_view(), name="campaign-new"),
    path("<int:pk>/", views.CampaignBuilderView.as_view(), name="campaign-builder"),
    path("<int:pk>/build/", views.CampaignStepView.as_view(step="build"), name="campaign-build"),
    path(
        "<int:pk>/approve/", views.CampaignStepView.as_view(step="approve"), name="campaign-approve"
    ),
    path("<int:pk>/send/", views.CampaignSendView.as_view(), name="campaign-send"),
    path("<int:pk>/messages/", views.CampaignMessageListView.as_view(), name="message-list"),
    path(
        "<int:pk>/messages/<int:message_pk>/",
        views.CampaignMessageEditView.as_view(),
        name="message-edit",
    ),
    path(
        "<int:pk>/messages/<int:message_pk>/test-send/",
        views.MessageTestSendView.as_view(),
        name="message-test-send",
    ),
    path(
        "replies/<int:pk>/",
        views.SuggestedReplyDecideView.as_view(),
        name="reply-decide",
    ),
]
