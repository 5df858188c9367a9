"""The spine's models, one module per idea; import them from here."""

from .alerting import Channel, Delivery, MaintenanceWindow, Notification, RoutingRule
from .audit import AuditEvent
from .findings import Finding, FindingEvent
from .releases import Deploy, Link, Release
from .tenancy import Invitation, Membership, Organization, Role, Service, User
from .tokens import ApiToken

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Channel",
    "Delivery",
    "Deploy",
    "Finding",
    "FindingEvent",
    "Invitation",
    "Link",
    "MaintenanceWindow",
    "Membership",
    "Notification",
    "Organization",
    "Release",
    "Role",
    "RoutingRule",
    "Service",
    "User",
]
