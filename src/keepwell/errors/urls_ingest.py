"""The Sentry ingestion protocol under /api/<project_id>/: envelope/ and store/."""

from django.urls import path

from . import ingest_views

urlpatterns = [
    path("envelope/", ingest_views.envelope, name="sentry-envelope"),
    path("store/", ingest_views.store, name="sentry-store"),
]
