"""The dependencies pages, under /o/<org>/dependencies/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="dependencies"),
    path("s/<slug:service_slug>/", views.service_page, name="dependencies-service"),
    path("s/<slug:service_slug>/scan", views.scan_now, name="dependencies-scan"),
    path("s/<slug:service_slug>/proposals/", views.proposal_list, name="dependencies-proposals"),
    path("s/<slug:service_slug>/proposals/new", views.proposal_new, name="dependencies-proposal-new"),
    path("s/<slug:service_slug>/proposals/<int:pk>/", views.proposal_detail, name="dependencies-proposal"),
]
