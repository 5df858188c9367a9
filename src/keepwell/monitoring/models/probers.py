"""Probers: local or remote processes that run uptime checks; remote ones authenticate with a token."""

import hashlib

from django.db import models
from django.utils import timezone

from keepwell.core.models import Organization


class Prober(models.Model):
    """A remote prober, in another place, that pulls assignments and pushes results over the API."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="probers")
    location = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["location"]

    def __str__(self):
        return self.location

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
