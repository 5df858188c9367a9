"""Uptime monitors, their check results and the downsampled history."""

from django.db import models
from django.utils import timezone

from keepwell.core.crypto import EncryptedJSONField
from keepwell.core.models import Organization, Service


class Monitor(models.Model):
    class Kind(models.TextChoices):
        HTTP = "http", "HTTP(S)"
        TCP = "tcp", "TCP port"
        DNS = "dns", "DNS record"
        TLS = "tls", "TLS certificate"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        UP = "up", "Up"
        DOWN = "down", "Down"
        UNREACHABLE = "unreachable", "Unreachable (a monitor it depends on is down)"
        PAUSED = "paused", "Paused"

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="monitors")
    service = models.ForeignKey(Service, models.CASCADE, related_name="monitors")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.HTTP)
    # http: the URL; tcp: host:port; dns: the name to resolve; tls: host[:port] (port 443 by default).
    target = models.CharField(max_length=2000)
    # Kind-specific options, validated by monitoring/probes.py: http method, headers, body, expected_statuses,
    # keyword, keyword_absent, json_path, json_expected, follow_redirects, max_response_ms; dns record_type,
    # expected; tls days_before_expiry.
    config = EncryptedJSONField(default=dict, blank=True)
    interval = models.PositiveIntegerField(default=60, help_text="Seconds between checks (20 to 86400).")
    timeout = models.PositiveIntegerField(default=10, help_text="Seconds before a check fails.")
    retries = models.PositiveSmallIntegerField(default=1, help_text="Failed checks in a row before down.")
    depends_on = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="dependents")
    locations_required = models.PositiveSmallIntegerField(
        default=1, help_text="Locations that must see it fail before it is down."
    )
    paused = models.BooleanField(default=False)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    last_checked = models.DateTimeField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    flaps = models.PositiveSmallIntegerField(default=0, help_text="Recent state changes, for flap damping.")
    flap_window_start = models.DateTimeField(null=True, blank=True)
    flapping = models.BooleanField(default=False, help_text="Changing state too often: one finding says so.")

    # Scheduling and leases: a prober claims due monitors until lease_until.
    next_check_at = models.DateTimeField(default=timezone.now, db_index=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self) -> str:
        return f"/o/{self.organization.slug}/monitoring/monitors/{self.pk}/"

    @property
    def finding_key(self) -> str:
        return f"monitor:{self.pk}"


class CheckResult(models.Model):
    """One check from one location: kept raw for 7 days, then only in Rollup rows."""

    monitor = models.ForeignKey(Monitor, models.CASCADE, related_name="results")
    checked_at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField()
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    location = models.CharField(max_length=100, default="local")

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["monitor", "-checked_at"])]

    def __str__(self):
        return f"{self.monitor_id} {'ok' if self.ok else 'fail'} at {self.checked_at:%Y-%m-%d %H:%M:%S}"


class Rollup(models.Model):
    """Checks summed per hour (kept 90 days) and per day (kept for ever)."""

    class Period(models.TextChoices):
        HOUR = "hour", "Hour"
        DAY = "day", "Day"

    monitor = models.ForeignKey(Monitor, models.CASCADE, related_name="rollups")
    period = models.CharField(max_length=4, choices=Period.choices)
    start = models.DateTimeField()
    checks = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    latency_p50 = models.PositiveIntegerField(null=True, blank=True)
    latency_p95 = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(fields=["monitor", "period", "start"], name="one_rollup_per_period")
        ]

    def __str__(self):
        return f"{self.monitor_id} {self.period} {self.start:%Y-%m-%d %H:%M}"
