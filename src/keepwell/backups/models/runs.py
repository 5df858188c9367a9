"""Runs: one job on a plan (a backup, forget and prune, check, drill or restore) and what it found."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from keepwell.core.crypto import EncryptedJSONField

from .plans import Plan

OUTPUT_LIMIT = 20_000  # characters of output kept per run


class Run(models.Model):
    class Kind(models.TextChoices):
        BACKUP = "backup", "Backup"
        FORGET = "forget", "Forget and prune"
        CHECK = "check", "Check"
        DRILL = "drill", "Restore drill"
        RESTORE = "restore", "Restore"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        WEB = "web", "Web"
        API = "api", "API"
        CLI = "cli", "Command line"

    plan = models.ForeignKey(Plan, models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    state = models.CharField(max_length=9, choices=State.choices, default=State.QUEUED)
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.SCHEDULE)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds; for a drill, the restore time.")
    # The backup run a drill or restore used.
    source_run = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="+")
    # The sources as they were backed up (they may hold database URLs): what a restore puts back.
    sources = EncryptedJSONField(default=list, blank=True)
    # A restore's target (may hold a database URL).
    target = EncryptedJSONField(default=dict, blank=True)
    snapshots = models.JSONField(default=list, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict, blank=True, help_text="forget: kept and removed snapshots.")
    evidence = models.JSONField(default=list, blank=True, help_text="A drill's checks: check, ok, detail.")
    bytes_added = models.BigIntegerField(null=True, blank=True)
    total_size = models.BigIntegerField(null=True, blank=True)
    error_kind = models.CharField(max_length=20, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    output = models.TextField(blank=True, default="")
    # While it runs: how far it is (0-1, None when unknown) and what it is doing, for the run's page.
    progress = models.FloatField(null=True, blank=True)
    progress_message = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["plan", "kind", "state", "-finished"])]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} of {self.plan}"

    def get_absolute_url(self) -> str:
        return f"/o/{self.plan.organization.slug}/backups/runs/{self.pk}/"

    @property
    def snapshot_ids(self) -> list[str]:
        return [s.get("short_id") or str(s.get("id", ""))[:8] for s in self.snapshots if isinstance(s, dict)]

    def log(self, line: str) -> None:
        """Append a line to the run's output (kept to OUTPUT_LIMIT characters, the newest kept)."""
        text = (self.output + "\n" + line) if self.output else line
        self.output = text[-OUTPUT_LIMIT:]
