"""A scan of a service's repository: one row per dependency and per runtime, and the figures of the whole."""

from django.db import models
from django.utils import timezone

from keepwell.core.models import Service


class Scan(models.Model):
    """One look at a service's dependencies and runtimes; the trend is the series of these."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    service = models.ForeignKey(Service, models.CASCADE, related_name="dependency_scans")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    dependencies = models.PositiveIntegerField(default=0)
    total_libyears = models.FloatField(default=0)
    median_libyears = models.FloatField(default=0)
    major = models.PositiveIntegerField(default=0)
    minor = models.PositiveIntegerField(default=0)
    patch = models.PositiveIntegerField(default=0)
    up_to_date = models.PositiveIntegerField(default=0)
    unknown = models.PositiveIntegerField(default=0)
    yanked = models.PositiveIntegerField(default=0)
    deprecated = models.PositiveIntegerField(default=0)
    eol_past = models.PositiveIntegerField(default=0)
    eol_approaching = models.PositiveIntegerField(default=0)
    read_errors = models.JSONField(default=list, blank=True)
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["service", "-created"], name="deps_scan_service_created")]

    def __str__(self):
        return f"dependency scan of {self.service} at {self.created:%Y-%m-%d %H:%M}"


class ScannedDependency(models.Model):
    scan = models.ForeignKey(Scan, models.CASCADE, related_name="rows")
    name = models.CharField(max_length=300)
    ecosystem = models.CharField(max_length=20)
    version = models.CharField(max_length=200, blank=True)
    specifier = models.CharField(max_length=500, blank=True)
    kind = models.CharField(max_length=20, default="registry")
    direct = models.BooleanField(default=True)
    dev = models.BooleanField(default=False)
    source = models.CharField(max_length=500, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    latest = models.CharField(max_length=200, blank=True)
    latest_allowed = models.CharField(max_length=200, blank=True)
    latest_same_major = models.CharField(max_length=200, blank=True)
    released = models.DateTimeField(null=True, blank=True)
    latest_released = models.DateTimeField(null=True, blank=True)
    last_release = models.DateTimeField(null=True, blank=True)
    libyears = models.FloatField(null=True, blank=True)
    behind_major = models.PositiveIntegerField(default=0)
    behind_minor = models.PositiveIntegerField(default=0)
    behind_patch = models.PositiveIntegerField(default=0)
    drift = models.CharField(max_length=10, blank=True)
    yanked = models.BooleanField(default=False)
    yanked_reason = models.CharField(max_length=300, blank=True)
    deprecated = models.CharField(max_length=300, blank=True)
    stale = models.BooleanField(default=False, help_text="No release of the package in two years.")
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["ecosystem", "name", "version"]

    def __str__(self):
        return f"{self.name} {self.version} ({self.ecosystem})"


class RuntimeStatus(models.Model):
    scan = models.ForeignKey(Scan, models.CASCADE, related_name="runtimes")
    product = models.CharField(max_length=50)
    version = models.CharField(max_length=50)
    cycle = models.CharField(max_length=50, blank=True)
    eol = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20)
    days_left = models.IntegerField(null=True, blank=True)
    source = models.CharField(max_length=500, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    declared = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["product", "version", "source"]

    def __str__(self):
        return f"{self.product} {self.version}: {self.status}"
