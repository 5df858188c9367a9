"""Backup plans: what a service backs up, where, on which schedules, and how it is kept and verified."""

from django.db import models
from django.utils import timezone

from keepwell.core.crypto import EncryptedJSONField
from keepwell.core.models import Organization, Service

from .repositories import Repository

DEFAULT_RETENTION = {"keep_last": 3, "keep_daily": 7, "keep_weekly": 4, "keep_monthly": 12}


def default_retention() -> dict:
    return dict(DEFAULT_RETENTION)


class Plan(models.Model):
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="backup_plans")
    service = models.ForeignKey(Service, models.CASCADE, related_name="backup_plans")
    name = models.CharField(max_length=200)
    repository = models.ForeignKey(Repository, models.RESTRICT, related_name="plans")
    # Sources may hold database URLs with passwords: encrypted at rest.
    sources = EncryptedJSONField(default=list)
    schedule = models.CharField(max_length=100, default="0 3 * * *", help_text="Cron line of the backups.")
    tz = models.CharField(max_length=64, default="UTC")
    retention = models.JSONField(default=default_retention, blank=True)
    prune_schedule = models.CharField(max_length=100, blank=True, default="30 4 * * *")
    check_schedule = models.CharField(max_length=100, blank=True, default="0 5 * * 0")
    check_read_data_subset = models.CharField(max_length=20, blank=True, default="")
    drill_schedule = models.CharField(max_length=100, blank=True, default="0 6 * * 0")
    verify_command = models.TextField(blank=True, default="")
    grace_minutes = models.PositiveIntegerField(default=60)
    max_restore_age_days = models.PositiveIntegerField(default=14)
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(default=timezone.now)

    # When each kind of job is next due (None: not computed yet, or that schedule is off).
    next_backup_at = models.DateTimeField(null=True, blank=True, db_index=True)
    next_forget_at = models.DateTimeField(null=True, blank=True, db_index=True)
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    next_drill_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_good_backup_at = models.DateTimeField(null=True, blank=True)
    last_verified_restore_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    def get_absolute_url(self) -> str:
        return f"/o/{self.organization.slug}/backups/plans/{self.pk}/"

    @property
    def tag(self) -> str:
        """Return the restic tag of this plan's snapshots."""
        return f"keepwell-plan-{self.pk}"

    def schedules(self) -> dict[str, str]:
        """Return {job kind: cron line} of the schedules that are on."""
        lines = {
            "backup": self.schedule,
            "forget": self.prune_schedule,
            "check": self.check_schedule,
            "drill": self.drill_schedule,
        }
        return {kind: line for kind, line in lines.items() if line}
