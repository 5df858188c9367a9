"""Public status pages: components of monitors, incidents with timed updates."""

from django.db import models
from django.utils import timezone

from keepwell.core.models import Organization

from .heartbeats import Heartbeat
from .monitors import Monitor


class StatusPage(models.Model):
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="status_pages")
    slug = models.SlugField(max_length=50, unique=True, help_text="Public at /status/<slug>/.")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    published = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title


class StatusComponent(models.Model):
    page = models.ForeignKey(StatusPage, models.CASCADE, related_name="components")
    name = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    monitors = models.ManyToManyField(Monitor, blank=True, related_name="components")
    heartbeats = models.ManyToManyField(Heartbeat, blank=True, related_name="components")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


class Incident(models.Model):
    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"

    page = models.ForeignKey(StatusPage, models.CASCADE, related_name="incidents")
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.INVESTIGATING)
    components = models.ManyToManyField(StatusComponent, blank=True, related_name="incidents")
    started = models.DateTimeField(default=timezone.now)
    resolved = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started"]

    def __str__(self):
        return self.title


class IncidentUpdate(models.Model):
    incident = models.ForeignKey(Incident, models.CASCADE, related_name="updates")
    status = models.CharField(max_length=15, choices=Incident.Status.choices)
    body = models.TextField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.incident}: {self.status}"
