"""Error group and event pages under /o/<org>/errors/."""

from django.urls import path

from . import views_groups as views

urlpatterns = [
    path("", views.group_list, name="errors"),
    path("<int:pk>/", views.group_detail, name="error-group"),
    path("<int:pk>/status", views.group_status, name="error-group-status"),
    path("<int:pk>/events/<str:event_id>/", views.event_detail, name="error-event"),
    path("attachments/<int:pk>", views.attachment_download, name="error-attachment"),
]
