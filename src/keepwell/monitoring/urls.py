"""The monitoring pages, mounted at /o/<org_slug>/monitoring/."""

from django.urls import path

from . import views_heartbeats as heartbeats
from . import views_monitors as monitors
from . import views_probers as probers

urlpatterns = [
    path("", monitors.monitor_list, name="monitors"),
    path("monitors/new", monitors.monitor_new, name="monitor-new"),
    path("monitors/<int:pk>/", monitors.monitor_detail, name="monitor"),
    path("monitors/<int:pk>/edit", monitors.monitor_edit, name="monitor-edit"),
    path("monitors/<int:pk>/pause", monitors.monitor_pause, name="monitor-pause"),
    path("monitors/<int:pk>/delete", monitors.monitor_delete, name="monitor-delete"),
    path("heartbeats/", heartbeats.heartbeat_list, name="heartbeats"),
    path("heartbeats/new", heartbeats.heartbeat_new, name="heartbeat-new"),
    path("heartbeats/<uuid:uuid>/", heartbeats.heartbeat_detail, name="heartbeat"),
    path("heartbeats/<uuid:uuid>/edit", heartbeats.heartbeat_edit, name="heartbeat-edit"),
    path("heartbeats/<uuid:uuid>/pause", heartbeats.heartbeat_pause, name="heartbeat-pause"),
    path("heartbeats/<uuid:uuid>/delete", heartbeats.heartbeat_delete, name="heartbeat-delete"),
    path("probers/", probers.prober_list, name="probers"),
    path("probers/<int:pk>/revoke", probers.prober_revoke, name="prober-revoke"),
]
