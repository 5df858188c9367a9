"""Error groups and their events, attachments, user reports, and the sessions behind release health."""

import json
import zlib

from django.db import models
from django.utils import timezone

from keepwell.core.models import Organization, Service

__all__ = [
    "ErrorGroup",
    "ErrorEvent",
    "EventAttachment",
    "GroupHour",
    "GroupTag",
    "ReleaseSession",
    "SessionBucket",
    "UserReport",
]


class ErrorGroup(models.Model):
    """The events of one service that share a fingerprint: one problem to fix."""

    class Status(models.TextChoices):
        UNRESOLVED = "unresolved", "Unresolved"
        RESOLVED = "resolved", "Resolved"
        RESOLVED_NEXT = "resolved_next", "Resolved in next release"
        IGNORED = "ignored", "Ignored"

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="error_groups")
    service = models.ForeignKey(Service, models.CASCADE, related_name="error_groups")
    fingerprint = models.CharField(max_length=32)
    title = models.CharField(max_length=255)
    culprit = models.CharField(max_length=200, blank=True)
    type = models.CharField(max_length=200, blank=True, help_text="The exception type, empty for messages.")
    level = models.CharField(max_length=10, default="error")
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    count = models.PositiveBigIntegerField(default=0)
    users = models.PositiveIntegerField(default=0, help_text="Distinct users affected.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNRESOLVED)
    regressed = models.BooleanField(default=False)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The newest release the group had been seen in when it was resolved: an event from a release newer
    # than this re-opens it as regressed; an event from an older one does not.
    resolved_release = models.CharField(max_length=100, blank=True)
    ignored_until = models.DateTimeField(null=True, blank=True)
    ignored_until_count = models.PositiveBigIntegerField(null=True, blank=True)
    last_release = models.CharField(max_length=100, blank=True, help_text="The newest release seen.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "fingerprint"], name="error_group_per_fingerprint")
        ]
        indexes = [
            models.Index(fields=["organization", "status", "-last_seen"]),
            models.Index(fields=["service", "-last_seen"]),
        ]
        ordering = ["-last_seen", "-id"]

    def __str__(self):
        return f"{self.service.slug}: {self.title}"

    @property
    def is_resolved(self) -> bool:
        return self.status in (self.Status.RESOLVED, self.Status.RESOLVED_NEXT)


class ErrorEvent(models.Model):
    """One occurrence; what the event page shows is kept compressed in `data`."""

    group = models.ForeignKey(ErrorGroup, models.CASCADE, related_name="events")
    service = models.ForeignKey(Service, models.CASCADE, related_name="error_events")
    event_id = models.CharField(max_length=32)
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    level = models.CharField(max_length=10, default="error")
    title = models.CharField(max_length=255)
    release = models.CharField(max_length=100, blank=True)
    environment = models.CharField(max_length=50, blank=True)
    user_key = models.CharField(max_length=210, blank=True)
    data = models.BinaryField(help_text="The normalized event as zlib-compressed JSON.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "event_id"], name="error_event_id_per_service")
        ]
        indexes = [
            models.Index(fields=["group", "-timestamp"]),
            models.Index(fields=["timestamp"]),
        ]
        ordering = ["-timestamp", "-id"]

    def __str__(self):
        return f"{self.event_id} ({self.title})"

    @staticmethod
    def pack(data: dict) -> bytes:
        return zlib.compress(json.dumps(data, separators=(",", ":"), default=str).encode(), 1)

    def unpack(self) -> dict:
        """Return the stored event (exceptions, breadcrumbs, request, user, tags, contexts...)."""
        try:
            return json.loads(zlib.decompress(bytes(self.data)))
        except (zlib.error, ValueError):
            return {}


class EventAttachment(models.Model):
    """A file the SDK sent with an event (size-limited by KEEPWELL_ERRORS_MAX_ATTACHMENT)."""

    service = models.ForeignKey(Service, models.CASCADE, related_name="error_attachments")
    event_id = models.CharField(max_length=32, db_index=True)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(help_text="The size sent, in bytes.")
    data = models.BinaryField(blank=True, help_text="Empty when the file was larger than the limit.")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.filename

    @property
    def stored(self) -> bool:
        return len(self.data or b"") == self.size


class UserReport(models.Model):
    """What a user wrote about an error (the SDK's user report or feedback)."""

    service = models.ForeignKey(Service, models.CASCADE, related_name="error_user_reports")
    event_id = models.CharField(max_length=32, blank=True, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    comments = models.TextField()
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"report by {self.email or self.name or 'someone'} on {self.event_id or 'no event'}"


class GroupTag(models.Model):
    """How many of a group's events carried one tag value (release, environment and user included)."""

    group = models.ForeignKey(ErrorGroup, models.CASCADE, related_name="tags")
    key = models.CharField(max_length=32)
    value = models.CharField(max_length=210)
    count = models.PositiveBigIntegerField(default=0)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "key", "value"], name="error_tag_value_once")]
        ordering = ["key", "-count", "value"]

    def __str__(self):
        return f"{self.key}={self.value} ({self.count})"


class GroupHour(models.Model):
    """A group's event count in one clock hour: the group page's chart and the spike baseline."""

    group = models.ForeignKey(ErrorGroup, models.CASCADE, related_name="hours")
    hour = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "hour"], name="error_group_hour_once")]
        ordering = ["-hour"]

    def __str__(self):
        return f"{self.group_id} at {self.hour:%Y-%m-%d %H}:00: {self.count}"


class ReleaseSession(models.Model):
    """One session an SDK reported individually (`session` items), updated as it ends."""

    service = models.ForeignKey(Service, models.CASCADE, related_name="error_sessions")
    sid = models.CharField(max_length=64)
    distinct_id = models.CharField(max_length=200, blank=True)
    release = models.CharField(max_length=100)
    environment = models.CharField(max_length=50, blank=True)
    started = models.DateTimeField()
    status = models.CharField(max_length=10, default="ok")
    errors = models.PositiveIntegerField(default=0)
    seq = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "sid"], name="error_session_once")]
        indexes = [models.Index(fields=["service", "release"])]

    def __str__(self):
        return f"session {self.sid} of {self.release} ({self.status})"


class SessionBucket(models.Model):
    """Sessions an SDK reported in aggregate (`sessions` items) for one release, minute and user."""

    service = models.ForeignKey(Service, models.CASCADE, related_name="error_session_buckets")
    release = models.CharField(max_length=100)
    environment = models.CharField(max_length=50, blank=True)
    started = models.DateTimeField()
    distinct_id = models.CharField(max_length=200, blank=True)
    exited = models.PositiveIntegerField(default=0)
    errored = models.PositiveIntegerField(default=0)
    abnormal = models.PositiveIntegerField(default=0)
    crashed = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["service", "release"])]

    def __str__(self):
        return f"sessions of {self.release} at {self.started:%Y-%m-%d %H:%M}"
