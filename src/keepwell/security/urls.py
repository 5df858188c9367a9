"""The security pages, under /o/<org>/security/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.organization_security, name="security"),
    path("services/<slug:service_slug>/", views.service_security, name="security-service"),
    path("services/<slug:service_slug>/scan", views.service_scan, name="security-scan"),
    path(
        "services/<slug:service_slug>/secrets/<int:pk>/accept",
        views.secret_accept,
        name="security-secret-accept",
    ),
    path(
        "services/<slug:service_slug>/vulnerabilities/<int:pk>/vex",
        views.vulnerability_vex,
        name="security-vulnerability-vex",
    ),
]
