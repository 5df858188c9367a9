"""Alerting: channels, routing rules, maintenance windows, and the notifications sent with their deliveries."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from ..crypto import EncryptedTextField, mask
from .findings import SEVERITY_RANK, Finding, Severity
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
    # The key a webhook receiver verifies the X-Keepwell-Signature header with (shown to admins, not in logs).
    signing_secret = EncryptedTextField(blank=True, default="")
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if self.kind == self.Kind.WEBHOOK and not self.signing_secret:
            self.signing_secret = secrets.token_urlsafe(32)
        super().save(*args, **kwargs)

    @property
    def masked_target(self) -> str:
        """Return the target with its secret parts hidden, for pages and the API."""
        if self.kind == self.Kind.EMAIL:
            return self.target or "all members of the organization"
        return mask(self.target)

    def clean(self):
        from ..alerting import validate_target

        self.target = validate_target(self.kind, self.target)


def default_group_window() -> int:
    """Return the burst window new routing rules start with (KEEPWELL_ALERT_GROUP_WINDOW)."""
    return settings.ALERT_GROUP_WINDOW


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
        default=default_group_window, help_text="Seconds to gather a burst of findings into one notification."
    )
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    quiet_timezone = models.CharField(max_length=64, default="UTC")
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    def clean(self):
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValidationError("Quiet hours need both a start and an end time, or neither.")
        from ..alerting import timing

        try:
            timing.zone(self.quiet_timezone)
        except ValueError as exc:
            raise ValidationError({"quiet_timezone": str(exc)}) from None
        if self.service_id and self.service.organization_id != self.organization_id:
            raise ValidationError({"service": "Choose a service of this organization."})

    def severities(self) -> list[str]:
        """Return the severities this rule lets through."""
        floor = SEVERITY_RANK[self.min_severity]
        return [s for s, rank in SEVERITY_RANK.items() if rank >= floor]

    def matches(self, finding) -> bool:
        """Return True when `finding` falls under this rule (its service and severity)."""
        return (
            self.enabled
            and finding.organization_id == self.organization_id
            and (self.service_id is None or self.service_id == finding.service_id)
            and SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[self.min_severity]
        )

    def quiet_until(self, at):
        """Return when this rule's quiet hours around `at` end, or None when `at` is not in them."""
        from ..alerting import timing

        return timing.quiet_until(at, self.quiet_start, self.quiet_end, self.quiet_timezone)


class MaintenanceWindow(models.Model):
    """Holds notifications (findings are still recorded) for a service, or all services, during a window."""

    class Recurrence(models.TextChoices):
        NONE = "none", "Once"
        DAILY = "daily", "Every day"
        WEEKLY = "weekly", "Every week"

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="maintenance_windows")
    service = models.ForeignKey(
        Service, models.CASCADE, null=True, blank=True, related_name="maintenance_windows"
    )
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    recurrence = models.CharField(max_length=10, choices=Recurrence.choices, default=Recurrence.NONE)
    until = models.DateTimeField(null=True, blank=True, help_text="Last day a recurring window applies.")
    # Recurring windows repeat at the same wall-clock time in this zone, across daylight saving changes.
    timezone = models.CharField(max_length=64, default="UTC")
    created = models.DateTimeField(default=now)

    class Meta:
        ordering = ["starts_at"]

    def __str__(self):
        return self.title

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The window must end after it starts."})
        from ..alerting import timing

        try:
            timing.zone(self.timezone)
        except ValueError as exc:
            raise ValidationError({"timezone": str(exc)}) from None
        if self.service_id and self.service.organization_id != self.organization_id:
            raise ValidationError({"service": "Choose a service of this organization."})

    def occurrence(self, at=None):
        """Return (start, end) of the occurrence covering `at` (default now), or None."""
        from ..alerting import timing

        return timing.window_occurrence(
            at or now(), self.starts_at, self.ends_at, self.recurrence, self.until, self.timezone
        )

    def is_active(self, at=None) -> bool:
        """Return True when the window holds notifications at `at` (default now)."""
        return self.occurrence(at) is not None

    @classmethod
    def holding(cls, finding, at=None):
        """Return (end, window) of the active window that covers `finding`'s service with the latest end."""
        at = at or now()
        best = None
        windows = cls.objects.filter(organization_id=finding.organization_id, starts_at__lte=at).filter(
            Q(service__isnull=True) | Q(service_id=finding.service_id)
        )
        for window in windows:
            occ = window.occurrence(at)
            if occ and (best is None or occ[1] > best[0]):
                best = (occ[1], window)
        return best


class Notification(models.Model):
    """One message for one channel, about one or more findings (a burst is grouped into one)."""

    class Status(models.TextChoices):
        GROUPING = "grouping", "Gathering a burst"
        PENDING = "pending", "Pending"
        HELD = "held", "Held (quiet hours, maintenance or snooze)"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Not sent: no longer relevant"

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="notifications")
    channel = models.ForeignKey(Channel, models.CASCADE, related_name="notifications")
    rule = models.ForeignKey(
        RoutingRule, models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    event = models.CharField(max_length=20)  # a key of core.alerting.EVENTS
    findings = models.ManyToManyField(Finding, blank=True, related_name="notifications")
    subject = models.CharField(max_length=300)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    hold_reason = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the burst closes, the hold ends, or the next attempt is due; a claimed send pushes it ahead.
    next_attempt_at = models.DateTimeField(default=now)
    last_error = models.TextField(blank=True)
    created = models.DateTimeField(default=now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            # At most one open burst per rule, channel and event: concurrent routers add to the same one.
            models.UniqueConstraint(
                fields=["rule", "channel", "event"],
                condition=Q(status="grouping"),
                name="one_open_burst_per_rule_channel_event",
            )
        ]

    def __str__(self):
        return self.subject or f"{self.event} to {self.channel}"


class Delivery(models.Model):
    """One attempt to deliver a notification: the delivery log."""

    notification = models.ForeignKey(Notification, models.CASCADE, related_name="deliveries")
    attempted_at = models.DateTimeField(default=now)
    ok = models.BooleanField()
    response = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self):
        return f"{'ok' if self.ok else 'failed'} at {self.attempted_at:%Y-%m-%d %H:%M:%S}"


class AlertEvent(models.Model):
    """The outbox: one finding transition (or a due reminder) waiting to be routed into notifications.

    The finding_changed receiver only inserts these rows; the periodic alerting pass routes them, so
    raising a finding never waits on a channel.
    """

    finding = models.ForeignKey(Finding, models.CASCADE, related_name="alert_events")
    event = models.CharField(max_length=20)
    # Reminders and escalations concern one rule; transitions go to every matching rule.
    rule = models.ForeignKey(RoutingRule, models.CASCADE, null=True, blank=True, related_name="+")
    # Makes reminders idempotent: (finding, rule, event, dedupe) is unique when set.
    dedupe = models.CharField(max_length=80, blank=True)
    created = models.DateTimeField(default=now)
    claimed_by = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    routed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["routed_at", "id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["finding", "rule", "event", "dedupe"],
                condition=~Q(dedupe=""),
                name="alert_event_dedupe",
            )
        ]

    def __str__(self):
        return f"{self.event} of finding {self.finding_id}"
