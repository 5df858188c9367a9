"""Heartbeats (cron-job monitoring) speaking the Healthchecks ping protocol."""

import secrets
import uuid

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from keepwell.core.models import Organization, Service


class PingKey(models.Model):
    """The key in /ping/<ping-key>/<slug> URLs: one per organization."""

    organization = models.OneToOneField(Organization, models.CASCADE, related_name="ping_key")
    key = models.CharField(max_length=32, unique=True)
    created = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"ping key of {self.organization}"

    @classmethod
    def for_organization(cls, organization, *, rotate=False) -> "PingKey":
        """Return the organization's ping key, creating it (or a new one, with `rotate`) as needed."""
        with transaction.atomic():
            row = cls.objects.select_for_update().filter(organization=organization).first()
            if row is not None and not rotate:
                return row
            for _attempt in range(3):
                key = secrets.token_urlsafe(16)  # 22 characters: never mistaken for a UUID
                try:
                    with transaction.atomic():
                        if row is None:
                            return cls.objects.create(organization=organization, key=key)
                        row.key, row.created = key, timezone.now()
                        row.save(update_fields=["key", "created"])
                        return row
                except IntegrityError:
                    continue
        raise RuntimeError("could not create a unique ping key")


class Heartbeat(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        UP = "up", "Up"
        DOWN = "down", "Down"
        STARTED = "started", "Started"
        PAUSED = "paused", "Paused"

    class Kind(models.TextChoices):
        PERIOD = "period", "Period"
        CRON = "cron", "Cron schedule"

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="heartbeats")
    service = models.ForeignKey(Service, models.CASCADE, related_name="heartbeats")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, blank=True)
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.PERIOD)
    period = models.PositiveIntegerField(default=86400, help_text="Seconds between pings (period kind).")
    grace = models.PositiveIntegerField(default=3600, help_text="Seconds a ping may be late.")
    schedule = models.CharField(max_length=100, blank=True, help_text="A cron expression (cron kind).")
    tz = models.CharField(max_length=64, default="UTC")

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.NEW)
    last_ping = models.DateTimeField(null=True, blank=True)
    last_start = models.DateTimeField(null=True, blank=True)
    last_duration = models.DurationField(null=True, blank=True)
    n_pings = models.PositiveIntegerField(default=0)
    alert_after = models.DateTimeField(null=True, blank=True, db_index=True, help_text="When it goes down.")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["organization", "slug"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self) -> str:
        return f"/o/{self.organization.slug}/monitoring/heartbeats/{self.uuid}/"

    @property
    def ping_url(self) -> str:
        """Return the URL a job pings: BASE_URL/ping/<uuid>."""
        return f"{settings.BASE_URL}/ping/{self.uuid}"

    def slug_ping_url(self) -> str | None:
        """Return BASE_URL/ping/<ping-key>/<slug>, or None without a slug or an organization ping key."""
        key = (
            PingKey.objects.filter(organization_id=self.organization_id).values_list("key", flat=True).first()
        )
        if not self.slug or key is None:
            return None
        return f"{settings.BASE_URL}/ping/{key}/{self.slug}"


class Ping(models.Model):
    class Kind(models.TextChoices):
        SUCCESS = "success", "Success"
        START = "start", "Start"
        FAIL = "fail", "Failure"
        LOG = "log", "Log"

    heartbeat = models.ForeignKey(Heartbeat, models.CASCADE, related_name="pings")
    n = models.PositiveIntegerField()
    created = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    exit_status = models.PositiveSmallIntegerField(null=True, blank=True)
    rid = models.UUIDField(null=True, blank=True)
    duration = models.DurationField(null=True, blank=True)
    method = models.CharField(max_length=10, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    body = models.BinaryField(blank=True, default=b"")
    body_truncated = models.BooleanField(default=False)

    class Meta:
        ordering = ["-n"]
        constraints = [models.UniqueConstraint(fields=["heartbeat", "n"], name="ping_number_once")]

    def __str__(self):
        return f"#{self.n} {self.kind}"
