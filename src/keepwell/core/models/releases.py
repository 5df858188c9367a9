"""Releases, deploys and cross-practice links: shared by errors, release gates, roadmap and support."""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from .tenancy import Organization, Service


class Release(models.Model):
    service = models.ForeignKey(Service, models.CASCADE, related_name="releases")
    version = models.CharField(max_length=100)
    commit = models.CharField(max_length=64, blank=True)
    notes = models.TextField(blank=True)
    url = models.URLField(max_length=500, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["service", "version"], name="release_version_per_service")
        ]

    def __str__(self):
        return f"{self.service.slug} {self.version}"


class Deploy(models.Model):
    release = models.ForeignKey(Release, models.CASCADE, related_name="deploys")
    environment = models.CharField(max_length=50)
    deployed_at = models.DateTimeField(default=timezone.now)
    deployed_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-deployed_at", "-id"]

    def __str__(self):
        return f"{self.release} to {self.environment}"


class Link(models.Model):
    """A link between any two objects of one organization (a ticket and an error group, an idea and a release)."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="links")
    source_type = models.ForeignKey(ContentType, models.CASCADE, related_name="+")
    source_id = models.CharField(max_length=64)
    source = GenericForeignKey("source_type", "source_id")
    target_type = models.ForeignKey(ContentType, models.CASCADE, related_name="+")
    target_id = models.CharField(max_length=64)
    target = GenericForeignKey("target_type", "target_id")
    relation = models.CharField(max_length=50, default="relates-to")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id", "target_type", "target_id", "relation"], name="link_once"
            )
        ]
        indexes = [
            models.Index(fields=["source_type", "source_id"]),
            models.Index(fields=["target_type", "target_id"]),
        ]

    def __str__(self):
        return f"{self.source_type.model}:{self.source_id} {self.relation} {self.target_type.model}:{self.target_id}"
