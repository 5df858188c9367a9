"""API tokens: shown once, stored hashed, scoped to one organization, read or read-write."""

import hashlib
import secrets

from django.db import models
from django.utils import timezone

from .tenancy import Organization, User

TOKEN_PREFIX = "kw_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(User, models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="The first characters, to tell tokens apart.")
    token_hash = models.CharField(max_length=64, unique=True)
    write = models.BooleanField(default=False, help_text="Read-write when set, read-only otherwise.")
    created = models.DateTimeField(default=timezone.now)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.prefix}… ({self.scope})"

    @property
    def scope(self) -> str:
        return "read-write" if self.write else "read"

    @classmethod
    def issue(cls, organization, user, *, write=False, name=""):
        """Create a token and return (token row, the plain token, shown once)."""
        plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(
            organization=organization,
            user=user,
            name=name,
            prefix=plain[:10],
            token_hash=hash_token(plain),
            write=write,
        )
        return row, plain

    @classmethod
    def authenticate(cls, plain: str):
        """Return the live token row for `plain`, or None; records the time of use."""
        if not plain or len(plain) > 200:
            return None
        row = (
            cls.objects.filter(token_hash=hash_token(plain), revoked_at=None)
            .select_related("organization", "user")
            .first()
        )
        if row is None or not row.user.is_active:
            return None
        now = timezone.now()
        # Write the last-used time at most once a minute to keep reads cheap.
        if row.last_used is None or (now - row.last_used).total_seconds() > 60:
            cls.objects.filter(pk=row.pk).update(last_used=now)
            row.last_used = now
        return row
