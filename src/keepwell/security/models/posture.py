"""Secrets found in repositories, and the web posture of monitored HTTPS URLs."""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

from keepwell.core.models import Organization, Service

__all__ = ["AcceptedSecret", "FixDeadline", "PostureResult", "SecretFinding", "SecretScan", "fingerprint"]


def fingerprint(filename: str, hashed_secret: str, kind: str) -> str:
    """Return a stable id of a secret in a file: sha256 of detect-secrets' identity (file, hash, type)."""
    return hashlib.sha256(f"{filename}\0{hashed_secret}\0{kind}".encode()).hexdigest()


class SecretScan(models.Model):
    """One scan of a service's repository for secrets (the working tree, and the history when asked)."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, models.CASCADE, related_name="secret_scans")
    history = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    error = models.TextField(blank=True)
    started = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)
    files_scanned = models.PositiveIntegerField(default=0)
    commits_scanned = models.PositiveIntegerField(default=0)
    found = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started", "-id"]

    def __str__(self):
        return f"secret scan of {self.service_id} at {self.started:%Y-%m-%d %H:%M}"


class SecretFinding(models.Model):
    """A potential secret in a service's repository: its hash (never its value), type, place and commit."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, models.CASCADE, related_name="secrets")
    fingerprint = models.CharField(max_length=64)
    type = models.CharField(max_length=100)
    filename = models.CharField(max_length=1000)
    line = models.PositiveIntegerField(default=0)
    hashed_secret = models.CharField(max_length=64, help_text="detect-secrets' SHA-1 of the value.")
    hint = models.CharField(max_length=60, help_text="At most the first four characters and the length.")
    commit = models.CharField(
        max_length=64, blank=True, help_text="The commit that added it (history scans)."
    )
    in_tree = models.BooleanField(default=True, help_text="Still in the working tree (else only in history).")
    in_repo_baseline = models.BooleanField(default=False, help_text="Listed in the repository's baseline.")
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["filename", "line", "type"]
        constraints = [
            models.UniqueConstraint(fields=["service", "fingerprint"], name="one_secret_row_per_identity")
        ]

    def __str__(self):
        return f"{self.type} in {self.filename}:{self.line}"

    @property
    def finding_key(self) -> str:
        """Return the core finding's key: one finding per value per file, whatever plugins saw it."""
        digest = hashlib.sha256(f"{self.filename}\0{self.hashed_secret}".encode()).hexdigest()
        return f"secret:{digest[:24]}"


class AcceptedSecret(models.Model):
    """The hub's baseline: a secret a person accepted (a test fixture, a revoked key) is no longer reported."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, models.CASCADE, related_name="accepted_secrets")
    fingerprint = models.CharField(max_length=64)
    type = models.CharField(max_length=100)
    filename = models.CharField(max_length=1000)
    hashed_secret = models.CharField(max_length=64)
    reason = models.CharField(max_length=500, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True)
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["filename", "type"]
        constraints = [
            models.UniqueConstraint(fields=["service", "fingerprint"], name="one_acceptance_per_secret")
        ]

    def __str__(self):
        return f"accepted {self.type} in {self.filename}"


class PostureResult(models.Model):
    """The latest web posture grade of one monitored HTTPS URL, with its reasons and observed facts."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, models.CASCADE, related_name="posture_results")
    # The monitoring app's monitor it came from, by id only (no practice app imports another).
    monitor_id = models.PositiveBigIntegerField(null=True, blank=True)
    url = models.CharField(max_length=2000)
    url_hash = models.CharField(max_length=64)
    checked_at = models.DateTimeField(default=timezone.now)
    score = models.IntegerField(default=0)
    grade = models.CharField(max_length=2)
    reasons = models.JSONField(default=list)
    tls_versions = models.JSONField(default=dict)
    cert_not_after = models.DateTimeField(null=True, blank=True)
    cert_error = models.CharField(max_length=500, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["url"]
        constraints = [models.UniqueConstraint(fields=["service", "url_hash"], name="one_posture_per_url")]

    def __str__(self):
        return f"{self.url}: {self.grade}"

    @staticmethod
    def hash_url(url: str) -> str:
        return hashlib.sha256(url.encode()).hexdigest()

    @property
    def finding_key(self) -> str:
        return f"posture:{self.url_hash[:24]}"


class FixDeadline(models.Model):
    """The fix-by date of one open security finding; the escalation job reads these."""

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, models.CASCADE, related_name="security_deadlines")
    key = models.CharField(max_length=255)
    title = models.CharField(max_length=300)
    url = models.CharField(max_length=500, blank=True)
    severity = models.CharField(max_length=10)  # critical, high, medium, low
    first_seen = models.DateTimeField()
    fix_by = models.DateTimeField(db_index=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["fix_by"]
        constraints = [models.UniqueConstraint(fields=["service", "key"], name="one_deadline_per_finding")]

    def __str__(self):
        return f"{self.key} fix by {self.fix_by:%Y-%m-%d}"
