"""Alertmanager intake: /hooks/alertmanager/<token> turns firing alerts into findings."""

from django.db import models
from django.utils import timezone

from keepwell.core.models import Organization, Service


class AlertmanagerHook(models.Model):
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
