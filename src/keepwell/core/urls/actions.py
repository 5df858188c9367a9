"""Signed links in notifications (no sign-in needed)."""

from django.urls import path

from ..views import actions

urlpatterns = [
    path("a/<str:signed>/", actions.finding_action, name="finding-action"),
]
