"""The spine's models, one module per idea; import them from here."""

from .accounts import RecoveryCode
from .alerting import AlertEvent, Channel, Delivery, MaintenanceWindow, Notification, RoutingRule
from .audit import AuditEvent
from .findings import Finding, FindingEvent
from .ops import JobFailureCount
from .releases import Deploy, Link, Release
from .tenancy import Invitation, Membership, Organization, Role, Service, User
from .tokens import ApiToken

__all__ = [
    "AlertEvent",
    "ApiToken",
    "AuditEvent",
    "Channel",
    "Delivery",
    "Deploy",
    "Finding",
    "FindingEvent",
    "Invitation",
    "JobFailureCount",
    "Link",
    "MaintenanceWindow",
    "Membership",
    "Notification",
    "Organization",
    "RecoveryCode",
    "Release",
    "Role",
    "RoutingRule",
    "Service",
    "User",
]
