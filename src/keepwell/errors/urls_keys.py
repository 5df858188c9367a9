"""DSN key pages under /o/<org>/errors/keys/."""

from django.urls import path

from . import views_keys

urlpatterns = [
    path("", views_keys.key_index, name="errors-keys"),
    path("<slug:service_slug>/", views_keys.service_keys, name="errors-service-keys"),
    path("<slug:service_slug>/new", views_keys.key_create, name="errors-key-create"),
    path("<slug:service_slug>/<int:dsn_id>/edit", views_keys.key_edit, name="errors-key-edit"),
    path("<slug:service_slug>/<int:dsn_id>/revoke", views_keys.key_revoke, name="errors-key-revoke"),
]
