"""Alertmanager intake: /hooks/alertmanager/<token> turns firing alerts into findings."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from keepwell.core.models import Organization, Service

TOKEN_PREFIX = "kwam_"


class AlertmanagerHook(models.Model):
    """A receiver URL for one service; the token in it is shown once and stored hashed."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="alertmanager_hooks")
    service = models.ForeignKey(Service, models.CASCADE, related_name="alertmanager_hooks")
    name = models.CharField(max_length=100, default="Alertmanager")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created = models.DateTimeField(default=timezone.now)
    last_received = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, service, name="Alertmanager"):
        """Create a hook for `service` and return (hook, the plain token, shown once)."""
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        hook = cls.objects.create(
            organization_id=service.organization_id,
            service=service,
            name=name or "Alertmanager",
            token_hash=cls.hash(plain),
            prefix=plain[:10],
        )
        return hook, plain

    @classmethod
    def find(cls, token: str):
        """Return the hook for the plain `token`, or None."""
        if not token or len(token) > 200:
            return None
        return cls.objects.filter(token_hash=cls.hash(token)).select_related("service").first()

    @staticmethod
    def url_for(token: str) -> str:
        """Return the URL Alertmanager posts to."""
        return f"{settings.BASE_URL}/hooks/alertmanager/{token}"

    def touch(self, at=None) -> None:
        """Record when Alertmanager last posted (an update, so the audit log is not flooded)."""
        self.last_received = at or timezone.now()
        type(self).objects.filter(pk=self.pk).update(last_received=self.last_received)
