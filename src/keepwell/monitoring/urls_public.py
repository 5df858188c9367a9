"""Public routes: the Alertmanager webhook and the status pages (no sign-in)."""

from django.urls import path

from . import views_public

urlpatterns = [
    path("hooks/alertmanager/<str:token>", views_public.alertmanager_hook, name="alertmanager-hook"),
    path("status/<slug:slug>/", views_public.status_page, name="status-page"),
    path("status/<slug:slug>/feed.atom", views_public.status_feed, name="status-feed"),
]
