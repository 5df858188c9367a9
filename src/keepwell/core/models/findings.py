"""Findings: anything a practice discovers that a person should act on. One model, one lifecycle."""

from django.db import models
from django.utils import timezone

from .tenancy import Organization, Service, User


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


class State(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Finding(models.Model):
    """Deduplicated by (service, source, key); open -> acknowledged -> resolved, re-opened on recurrence."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="findings")
    service = models.ForeignKey(Service, models.CASCADE, related_name="findings")
    source = models.CharField(
        max_length=50, help_text="The practice or check that raised it, e.g. monitoring."
    )
    key = models.CharField(max_length=255, help_text="What makes it the same finding next time.")
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    state = models.CharField(max_length=15, choices=State.choices, default=State.OPEN)
    url = models.CharField(max_length=500, blank=True, help_text="A link back to the practice's own page.")
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    count = models.PositiveIntegerField(default=1)
    times_reopened = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField(default=timezone.now, help_text="When the current episode began.")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    snoozed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["service", "source", "key"], name="finding_dedup"),
        ]
        indexes = [
            models.Index(fields=["organization", "state", "-last_seen"]),
            models.Index(fields=["state", "acknowledged_at"]),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("finding", args=[self.organization.slug, self.pk])

    @property
    def is_snoozed(self) -> bool:
        return bool(self.snoozed_until and self.snoozed_until > timezone.now())


class FindingEvent(models.Model):
    """One transition in a finding's life; alerting turns these into notifications."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        REOPENED = "reopened", "Re-opened"
        ESCALATED = "escalated", "Severity raised"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        SNOOZED = "snoozed", "Snoozed"

    finding = models.ForeignKey(Finding, models.CASCADE, related_name="events")
    kind = models.CharField(max_length=15, choices=Kind.choices)
    actor = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.finding_id}"
