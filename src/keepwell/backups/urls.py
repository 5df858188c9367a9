"""The backups pages, under /o/<org>/backups/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.plan_list, name="backups"),
    path("plans/new", views.plan_new, name="backup-plan-new"),
    path("plans/<int:pk>/", views.plan_detail, name="backup-plan"),
    path("plans/<int:pk>/edit", views.plan_edit, name="backup-plan-edit"),
    path("plans/<int:pk>/delete", views.plan_delete, name="backup-plan-delete"),
    path("plans/<int:pk>/start", views.plan_start, name="backup-plan-start"),
    path("plans/<int:pk>/restore", views.plan_restore, name="backup-plan-restore"),
    path("runs/<int:pk>/", views.run_detail, name="backup-run"),
]
