"""Alerting: channels, routing rules, maintenance windows, and the notifications sent with their deliveries."""

from django.db import models
from django.utils import timezone

from ..crypto import EncryptedTextField
from .findings import Finding, Severity
from .tenancy import Organization, Service


class Channel(models.Model):
    class Kind(models.TextChoices):
        APPRISE = "apprise", "Apprise URL (Slack, Discord, Teams, Telegram, ntfy, PagerDuty, Opsgenie, ...)"
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook (JSON POST)"

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="channels")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # An Apprise URL, a webhook URL, or for email a comma-separated list of addresses (empty: all members).
    target = EncryptedTextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class RoutingRule(models.Model):
    """Which findings go to which channels, when, and how often."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="routing_rules")
    name = models.CharField(max_length=100)
    service = models.ForeignKey(Service, models.CASCADE, null=True, blank=True, related_name="routing_rules")
    min_severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    channels = models.ManyToManyField(Channel, related_name="rules")
    escalation_channels = models.ManyToManyField(Channel, blank=True, related_name="escalation_rules")
    escalate_after = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds a finding may stay unacknowledged before escalating."
    )
    renotify_every = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds between reminders while a finding stays open."
    )
    notify_on_resolve = models.BooleanField(default=True)
    group_window = models.PositiveIntegerField(
        default=30, help_text="Seconds to gather a burst of findings into one notification."
    )
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    quiet_timezone = models.CharField(max_length=64, default="UTC")
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class MaintenanceWindow(models.Model):
    """Holds notifications (findings are still recorded) for a service, or all services, during a window."""

    class Recurrence(models.TextChoices):
        NONE = "none", "Once"
        DAILY = "daily", "Every day"
        WEEKLY = "weekly", "Every week"

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="maintenance_windows")
    service = models.ForeignKey(Service, models.CASCADE, null=True, blank=True, related_name="maintenance_windows")
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    recurrence = models.CharField(max_length=10, choices=Recurrence.choices, default=Recurrence.NONE)
    until = models.DateTimeField(null=True, blank=True, help_text="Last day a recurring window applies.")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at"]

    def __str__(self):
        return self.title


class Notification(models.Model):
    """One message for one channel, about one or more findings (a burst is grouped into one)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        HELD = "held", "Held (quiet hours or maintenance)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="notifications")
    channel = models.ForeignKey(Channel, models.CASCADE, related_name="notifications")
    rule = models.ForeignKey(RoutingRule, models.SET_NULL, null=True, blank=True, related_name="notifications")
    event = models.CharField(max_length=20)  # opened, reopened, escalated, renotify, resolved, test, ...
    findings = models.ManyToManyField(Finding, blank=True, related_name="notifications")
    subject = models.CharField(max_length=300)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]


class Delivery(models.Model):
    """One attempt to deliver a notification: the delivery log."""

    notification = models.ForeignKey(Notification, models.CASCADE, related_name="deliveries")
    attempted_at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField()
    response = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-attempted_at", "-id"]
