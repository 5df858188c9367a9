"""/ping/...: the Healthchecks ping protocol (public: the UUID or the ping key is the secret)."""

from django.urls import path, re_path

from . import views_ping

KEY = r"(?P<ping_key>[A-Za-z0-9_-]{16,32})"
SLUG = r"(?P<slug>[-a-zA-Z0-9_]{1,100})"
ACTION = r"(?P<action>start|fail|log)"
EXIT = r"(?P<exit_status>[0-9]+)"
UUID = r"(?P<code>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"

urlpatterns = [
    path("<uuid:code>", views_ping.ping_by_uuid, name="ping"),
    re_path("^" + UUID + "/" + ACTION + "$", views_ping.ping_by_uuid, name="ping-action"),
    re_path("^" + UUID + "/" + EXIT + "$", views_ping.ping_by_uuid, name="ping-exit-status"),
    re_path("^" + KEY + "/" + SLUG + "$", views_ping.ping_by_slug, name="ping-slug"),
    re_path("^" + KEY + "/" + SLUG + "/" + ACTION + "$", views_ping.ping_by_slug, name="ping-slug-action"),
    re_path("^" + KEY + "/" + SLUG + "/" + EXIT + "$", views_ping.ping_by_slug, name="ping-slug-exit-status"),
]
