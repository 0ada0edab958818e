"""Pages of the integrations, mounted under /integrations/."""

from django.urls import path

from crmcore.integrations import views

app_name = "integrations"

urlpatterns = [
    path("import/", views.ImportRunCreateView.as_view(), name="import-new"),
    path("import/map/<str:token>/", views.ImportMapView.as_view(), name="import-map"),
    path("import/<int:pk>/", views.ImportRunDetailView.as_view(), name="import-detail"),
    path("import/<int:pk>/errors.csv", views.ImportRunErrorsView.as_view(), name="import-errors"),
]
