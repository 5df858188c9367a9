"""The team's status-page pages, under /o/<org_slug>/status-pages/."""

from django.urls import path

from . import views_statuspages as views

urlpatterns = [
    path("", views.page_list, name="statuspages"),
    path("new", views.page_new, name="statuspage-new"),
    path("<int:pk>/", views.page_detail, name="statuspage"),
    path("<int:pk>/edit", views.page_edit, name="statuspage-edit"),
    path("<int:pk>/delete", views.page_delete, name="statuspage-delete"),
    path("<int:pk>/components/new", views.component_new, name="statuspage-component-new"),
    path(
        "<int:pk>/components/<int:component_pk>/edit", views.component_edit, name="statuspage-component-edit"
    ),
    path(
        "<int:pk>/components/<int:component_pk>/delete",
        views.component_delete,
        name="statuspage-component-delete",
    ),
    path("<int:pk>/incidents/new", views.incident_new, name="statuspage-incident-new"),
    path("<int:pk>/incidents/<int:incident_pk>/", views.incident_detail, name="statuspage-incident"),
    path(
        "<int:pk>/incidents/<int:incident_pk>/updates",
        views.incident_update,
        name="statuspage-incident-update",
    ),
    path(
        "<int:pk>/incidents/<int:incident_pk>/delete",
        views.incident_delete,
        name="statuspage-incident-delete",
    ),
    path("hooks/", views.hook_list, name="statuspage-hooks"),
    path("hooks/new", views.hook_new, name="statuspage-hook-new"),
    path("hooks/<int:pk>/delete", views.hook_delete, name="statuspage-hook-delete"),
]
