from django.contrib import admin
from django.urls import include, path

from .api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("ping/", include("keepwell.monitoring.urls_ping")),
    path("", include("keepwell.monitoring.urls_public")),
    path("o/<slug:org_slug>/monitoring/", include("keepwell.monitoring.urls")),
    path("o/<slug:org_slug>/status-pages/", include("keepwell.monitoring.urls_statuspages")),
    path("", include("keepwell.core.urls")),
]
