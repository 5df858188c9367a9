"""The web interface's own pages: organizations, the overview grid, services, findings and alerting."""

from django.urls import path

from ..views import pages_alerting as alerting
from ..views import pages_findings as findings
from ..views import pages_overview as overview
from ..views import pages_services as services

urlpatterns = [
    path("", overview.home, name="overview"),
    path("orgs/new", overview.org_new, name="org-new"),
    path("o/<slug:org_slug>/", overview.org_overview, name="org-overview"),
    # Services
    path("o/<slug:org_slug>/services/new", services.service_new, name="service-new"),
    path("o/<slug:org_slug>/s/<slug:slug>/", services.service_detail, name="service"),
    path("o/<slug:org_slug>/s/<slug:slug>/edit", services.service_edit, name="service-edit"),
    path("o/<slug:org_slug>/s/<slug:slug>/releases/", services.service_releases, name="service-releases"),
    # Findings
    path("o/<slug:org_slug>/findings/", findings.inbox, name="findings"),
    path("o/<slug:org_slug>/findings/<int:pk>/", findings.detail, name="finding"),
    path("o/<slug:org_slug>/findings/<int:pk>/act", findings.act, name="finding-act"),
    # Alerting
    path("o/<slug:org_slug>/alerting/channels/", alerting.channels, name="channels"),
    path("o/<slug:org_slug>/alerting/channels/new", alerting.channel_new, name="channel-new"),
    path("o/<slug:org_slug>/alerting/channels/<int:pk>/edit", alerting.channel_edit, name="channel-edit"),
    path(
        "o/<slug:org_slug>/alerting/channels/<int:pk>/delete", alerting.channel_delete, name="channel-delete"
    ),
    path("o/<slug:org_slug>/alerting/channels/<int:pk>/test", alerting.channel_test, name="channel-test"),
    path("o/<slug:org_slug>/alerting/rules/", alerting.rules, name="rules"),
    path("o/<slug:org_slug>/alerting/rules/new", alerting.rule_new, name="rule-new"),
    path("o/<slug:org_slug>/alerting/rules/<int:pk>/edit", alerting.rule_edit, name="rule-edit"),
    path("o/<slug:org_slug>/alerting/rules/<int:pk>/delete", alerting.rule_delete, name="rule-delete"),
    path("o/<slug:org_slug>/alerting/maintenance/", alerting.maintenance, name="maintenance"),
    path("o/<slug:org_slug>/alerting/maintenance/new", alerting.maintenance_new, name="maintenance-new"),
    path(
        "o/<slug:org_slug>/alerting/maintenance/<int:pk>/edit",
        alerting.maintenance_edit,
        name="maintenance-edit",
    ),
    path(
        "o/<slug:org_slug>/alerting/maintenance/<int:pk>/delete",
        alerting.maintenance_delete,
        name="maintenance-delete",
    ),
    path("o/<slug:org_slug>/alerting/log/", alerting.notifications, name="notifications"),
]
