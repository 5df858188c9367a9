"""Probers: local or remote processes that run uptime checks; remote ones authenticate with a token."""

import hashlib
import secrets

from django.db import models
from django.utils import timezone

from keepwell.core.models import Organization

from ..prober.wire import clean_location
from .monitors import Monitor

PROBER_TOKEN_PREFIX = "kwp_"


class Prober(models.Model):
    """A remote prober, in another place, that pulls assignments and pushes results over the API."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="probers")
    location = models.CharField(max_length=100)
    name = models.CharField(max_length=100, blank=True, help_text="What the team calls it (optional).")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["location"]

    def __str__(self):
        return f"{self.name} ({self.location})" if self.name else self.location

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, organization, location: str, name: str = ""):
        """Create a prober for `location` and return (row, the plain token, shown once).

        Raises ValueError for a location that `clean_location` refuses.
        """
        location = clean_location(location)
        plain = PROBER_TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(
            organization=organization,
            location=location,
            name=name.strip()[:100],
            token_hash=cls.hash(plain),
            prefix=plain[:10],
        )
        return row, plain

    def revoke(self, now=None) -> None:
        """Revoke the token: the prober API answers it 401 from now on (its row stays, for the record)."""
        if self.revoked_at is None:
            self.revoked_at = now or timezone.now()
            self.save(update_fields=["revoked_at"])

    @classmethod
    def authenticate(cls, plain: str):
        """Return the live prober whose token is `plain`, or None; records when it was last seen."""
        if not plain or len(plain) > 200 or not plain.startswith(PROBER_TOKEN_PREFIX):
            return None
        row = (
            cls.objects.filter(token_hash=cls.hash(plain), revoked_at=None)
            .select_related("organization")
            .first()
        )
        if row is None:
            return None
        now = timezone.now()
        # Write the last-seen time at most every ten seconds: a prober calls several times a second.
        if row.last_seen is None or (now - row.last_seen).total_seconds() > 10:
            cls.objects.filter(pk=row.pk).update(last_seen=now)
            row.last_seen = now
        return row


class ProberLease(models.Model):
    """The schedule and lease of one monitor at one remote location (the local one lives on Monitor)."""

    monitor = models.ForeignKey(Monitor, models.CASCADE, related_name="location_leases")
    location = models.CharField(max_length=100)
    next_check_at = models.DateTimeField(default=timezone.now)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["location", "next_check_at"]
        constraints = [
            models.UniqueConstraint(fields=["monitor", "location"], name="one_lease_per_monitor_location")
        ]
        indexes = [models.Index(fields=["location", "next_check_at"])]

    def __str__(self):
        return f"{self.monitor_id} at {self.location}"
