from django.contrib.auth import views as auth_views
from django.urls import path

from crmcore.web import (
    bulk_views,
    edit_views,
    form_views,
    merge_views,
    privacy_views,
    saved_filters,
    task_views,
    template_check,
    unsubscribe,
    users,
    views,
)

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("users/invite/", users.UserInviteView.as_view(), name="user-invite"),
    path("invite/<uidb64>/<token>/", users.InviteAcceptView.as_view(), name="invite-accept"),
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("unsubscribe/<str:token>/", unsubscribe.UnsubscribeView.as_view(), name="unsubscribe"),
    path("contacts/", views.ContactListView.as_view(), name="contact-list"),
    path("tasks/", task_views.TaskListView.as_view(), name="task-list"),
    path("tasks/new/", task_views.TaskCreateView.as_view(), name="task-create"),
    path("tasks/<int:pk>/done/", task_views.TaskDoneView.as_view(), name="task-done"),
    path("contacts/export.csv", views.ContactExportView.as_view(), name="contact-export"),
    path("contacts/bulk/", bulk_views.ContactBulkView.as_view(), name="contact-bulk"),
    path(
        "contacts/filters/",
        saved_filters.SavedFilterCreateView.as_view(),
        name="saved-filter-create",
    ),
    path(
        "contacts/filters/<int:pk>/delete/",
        saved_filters.SavedFilterDeleteView.as_view(),
        name="saved-filter-delete",
    ),
    path(
        "contacts/duplicates/",
        merge_views.ContactDuplicatesView.as_view(),
        name="contact-duplicates",
    ),
    path(
        "contacts/<int:pk>/merge/<int:other_pk>/",
        merge_views.ContactMergeView.as_view(),
        name="contact-merge",
    ),
    path("contacts/new/", form_views.ContactCreateView.as_view(), name="contact-create"),
    path("contacts/<int:pk>/", views.ContactDetailView.as_view(), name="contact-detail"),
    path("contacts/<int:pk>/edit/", form_views.ContactUpdateView.as_view(), name="contact-edit"),
    path(
        "contacts/<int:pk>/personal-data.json",
        privacy_views.ContactPersonalDataView.as_view(),
        name="contact-personal-data",
    ),
    path(
        "contacts/<int:pk>/erase/", privacy_views.ContactEraseView.as_view(), name="contact-erase"
    ),
    path("contacts/<int:pk>/delete/", edit_views.delete_view("contact"), name="contact-delete"),
    path(
        "interactions/<int:pk>/edit/",
        edit_views.InteractionUpdateView.as_view(),
        name="interaction-edit",
    ),
    path(
        "interactions/<int:pk>/delete/",
        edit_views.delete_view("interaction"),
        name="interaction-delete",
    ),
    path("accounts/<int:pk>/delete/", edit_views.delete_view("account"), name="account-delete"),
    path("deals/<int:pk>/edit/", edit_views.DealUpdateView.as_view(), name="deal-edit"),
    path("deals/<int:pk>/delete/", edit_views.delete_view("deal"), name="deal-delete"),
    path("campaigns/<int:pk>/delete/", edit_views.delete_view("campaign"), name="campaign-delete"),
    path(
        "contacts/<int:pk>/interactions/new/",
        form_views.InteractionCreateView.as_view(),
        name="interaction-create",
    ),
    path("accounts/new/", form_views.AccountCreateView.as_view(), name="account-create"),
    path("accounts/<int:pk>/", views.AccountDetailView.as_view(), name="account-detail"),
    path("accounts/<int:pk>/edit/", form_views.AccountUpdateView.as_view(), name="account-edit"),
    path("deals/", views.DealPipelineView.as_view(), name="deal-pipeline"),
    path("deals/new/", form_views.DealCreateView.as_view(), name="deal-create"),
    path("deals/<int:pk>/", form_views.DealDetailView.as_view(), name="deal-detail"),
    path("deals/<int:pk>/stage/", form_views.DealStageView.as_view(), name="deal-stage"),
    path("campaigns/", views.CampaignListView.as_view(), name="campaign-list"),
    path("campaigns/new/", form_views.CampaignCreateView.as_view(), name="campaign-create"),
    path(
        "campaigns/template-check/",
        template_check.CampaignTemplateCheckView.as_view(),
        name="campaign-template-check",
    ),
    path("campaigns/<int:pk>/edit/", form_views.CampaignUpdateView.as_view(), name="campaign-edit"),
]
