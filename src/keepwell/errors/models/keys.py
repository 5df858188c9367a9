"""DSN keys and the spool of accepted envelopes (owned by the ingest side)."""

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from keepwell.core.models import Organization, Service

__all__ = ["Dsn", "RawEnvelope"]

# Project ids are numbers (the SDKs put them in the URL path); random ones do not reveal how many exist.
PROJECT_ID_MIN, PROJECT_ID_MAX = 100_000, 2_147_483_647


def _project_id() -> int:
    return PROJECT_ID_MIN + secrets.randbelow(PROJECT_ID_MAX - PROJECT_ID_MIN)


class Dsn(models.Model):
    """A key that a Sentry SDK sends events with: http(s)://<public_key>@<host>/<project_id>."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="dsns")
    service = models.ForeignKey(Service, models.CASCADE, related_name="dsns")
    # The public key is not a secret in Sentry's model: it ships inside browser bundles and mobile apps, so it
    # is stored in plain text and looked up directly. What protects a service is revoking and rate limiting.
    public_key = models.CharField(max_length=32, unique=True)
    project_id = models.PositiveBigIntegerField(unique=True)
    label = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Accepted envelopes per minute; 0 means no limit.
    rate_limit = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    # The current rate-limit window when the counter lives in the database (no Redis): minute number and count.
    window_minute = models.BigIntegerField(default=0)
    window_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self):
        return f"DSN {self.label or self.public_key[:8]} of {self.service}"

    @property
    def dsn(self) -> str:
        """Return the DSN to give an SDK, built from KEEPWELL_BASE_URL."""
        base = urlsplit(settings.BASE_URL)
        path = base.path.rstrip("/")
        return f"{base.scheme}://{self.public_key}@{base.netloc}{path}/{self.project_id}"

    @property
    def status(self) -> str:
        return "active" if self.active else "revoked"

    @classmethod
    def issue(cls, service, *, label: str = "", rate_limit: int | None = None) -> "Dsn":
        """Create a new key for `service` with a random public key and project id."""
        if rate_limit is None:
            rate_limit = settings.ERRORS_RATE_LIMIT
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    return cls.objects.create(
                        organization=service.organization,
                        service=service,
                        public_key=secrets.token_hex(16),
                        project_id=_project_id(),
                        label=label,
                        rate_limit=rate_limit,
                    )
            except IntegrityError:
                continue  # a random project id collided: draw again
        raise RuntimeError("could not allocate a unique project id")

    def revoke(self) -> None:
        """Stop accepting events with this key (the SDKs then get 403)."""
        if self.active:
            self.active = False
            self.revoked_at = timezone.now()
            self.save(update_fields=["active", "revoked_at"])


class RawEnvelope(models.Model):
    """An accepted envelope (decompressed, framing and JSON checked), kept until a job processes it."""

    dsn = models.ForeignKey(Dsn, models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, models.CASCADE, related_name="+")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    body = models.BinaryField()
    event_id = models.CharField(max_length=32, null=True, blank=True)
    # The sender's address, for the processing side's {{auto}} user IP (as Sentry infers it).
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["service", "event_id"], name="errors_raw_service_event")]

    def __str__(self):
        return f"envelope {self.event_id or self.pk} for {self.service}"
