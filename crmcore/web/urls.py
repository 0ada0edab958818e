from django.contrib.auth import views as auth_views
from django.urls import path

from crmcore.web import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("contacts/", views.ContactListView.as_view(), name="contact-list"),
    path("contacts/<int:pk>/", views.ContactDetailView.as_view(), name="contact-detail"),
    path("accounts/<int:pk>/", views.AccountDetailView.as_view(), name="account-detail"),
    path("deals/", views.DealPipelineView.as_view(), name="deal-pipeline"),
    path("campaigns/", views.CampaignListView.as_view(), name="campaign-list"),
]
