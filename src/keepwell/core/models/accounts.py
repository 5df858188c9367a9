"""Two-factor recovery codes: one-use codes that stand in for the authenticator app, stored hashed."""

from django.db import models
from django.utils import timezone

from .tenancy import User


class RecoveryCode(models.Model):
    user = models.ForeignKey(User, models.CASCADE, related_name="recovery_codes")
    token_hash = models.CharField(max_length=64)
    created = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "token_hash"])]

    def __str__(self):
        return f"recovery code of {self.user_id}"
