from django.urls import path

from training_sandbox import views

app_name = "sandbox"

urlpatterns = [
    path("", views.SandboxHomeView.as_view(), name="home"),
    path("create/", views.SandboxCreateView.as_view(), name="create"),
    path("enter/", views.SandboxEnterView.as_view(), name="enter"),
    path("leave/", views.SandboxLeaveView.as_view(), name="leave"),
    path("reset/", views.SandboxResetView.as_view(), name="reset"),
    path("delete/", views.SandboxDeleteView.as_view(), name="delete"),
    path("would-have-sent/", views.WouldHaveSentView.as_view(), name="would-have-sent"),
    path("lessons/", views.LessonListView.as_view(), name="lesson-list"),
    path("lessons/<slug:slug>/", views.LessonDetailView.as_view(), name="lesson-detail"),
    path("lessons/<slug:slug>/start/", views.LessonStartView.as_view(), name="lesson-start"),
    path("lessons/<slug:slug>/check/", views.LessonCheckView.as_view(), name="lesson-check"),
    path("lessons/<slug:slug>/answer/", views.LessonAnswerView.as_view(), name="lesson-answer"),
    path(
        "notices/<str:capabilities>/dismiss/",
        views.NoticeDismissView.as_view(),
        name="notice-dismiss",
    ),
    path("progress/", views.ProgressView.as_view(), name="progress"),
    path("progress/<int:pk>/reset/", views.StaffSandboxResetView.as_view(), name="staff-reset"),
    path("progress/<int:pk>/delete/", views.StaffSandboxDeleteView.as_view(), name="staff-delete"),
]
