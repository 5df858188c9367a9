"""The audit log: every create, update and delete, and every sign-in."""

from django.db import models
from django.utils import timezone

from .tenancy import Organization, User


class AuditEvent(models.Model):
    organization = models.ForeignKey(
        Organization, models.CASCADE, null=True, blank=True, related_name="audit"
    )
    actor = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    actor_label = models.CharField(max_length=254, blank=True, help_text="Who, kept when the user is gone.")
    action = models.CharField(max_length=40)  # create, update, delete, login, login_failed, logout, ...
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["organization", "-created"])]

    def __str__(self):
        return f"{self.actor_label} {self.action} {self.object_type} {self.object_repr}"
