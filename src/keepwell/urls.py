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
    # The Sentry ingestion protocol: /api/<project_id>/envelope/ and /api/<project_id>/store/.
    path("api/<int:project_id>/", include("keepwell.errors.urls_ingest")),
    path("o/<slug:org_slug>/errors/", include("keepwell.errors.urls")),
    path("o/<slug:org_slug>/backups/", include("keepwell.backups.urls")),
    path("o/<slug:org_slug>/dependencies/", include("keepwell.dependencies.urls")),
    path("o/<slug:org_slug>/security/", include("keepwell.security.urls")),
    path("", include("keepwell.core.urls")),
]
