"""The errors pages, under /o/<org>/errors/: groups and events (urls_groups), DSN keys (urls_keys)."""

from django.urls import include, path

urlpatterns = [
    path("keys/", include("keepwell.errors.urls_keys")),
    path("", include("keepwell.errors.urls_groups")),
]
