"""The web interface's URLs, one module per area."""

from django.urls import include, path

urlpatterns = [
    path("", include("keepwell.core.urls.ops")),
    path("", include("keepwell.core.urls.accounts")),
    path("", include("keepwell.core.urls.actions")),
    path("", include("keepwell.core.urls.pages")),
]
