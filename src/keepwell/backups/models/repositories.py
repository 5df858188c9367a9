"""Repositories (where restic keeps an organization's backups), the hub's lease on each, and their size."""

import hashlib
import re
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from keepwell.core import audit
from keepwell.core.crypto import EncryptedJSONField, EncryptedTextField
from keepwell.core.models import Organization

# user:password@ in a URL-like location (rest:https://u:p@host/, sftp:u@host:/srv): hidden when shown.
USERINFO = re.compile(r"(?P<scheme>[a-z0-9+.-]+://)(?P<userinfo>[^@/]+)@", re.IGNORECASE)


def location_key(location: str) -> str:
    """Return the hash that identifies a location (the location itself is stored encrypted)."""
    return hashlib.sha256(location.strip().encode()).hexdigest()


def display_location(location: str) -> str:
    """Return `location` with any user name and password in it hidden."""
    return USERINFO.sub(lambda m: f"{m.group('scheme')}•••@", location)


class RepositoryConflict(Exception):
    """The location is registered with another password."""


def default_stale_lock_minutes() -> int:
    return settings.BACKUP_STALE_LOCK_MINUTES


class Repository(models.Model):
    organization = models.ForeignKey(Organization, models.CASCADE, related_name="backup_repositories")
    # Locations may hold credentials (rest:https://user:password@host/): encrypted, found by their hash.
    location = EncryptedTextField()
    location_hash = models.CharField(max_length=64, editable=False)
    password = EncryptedTextField()
    env = EncryptedJSONField(default=dict, blank=True, help_text="Environment for restic, e.g. AWS keys.")
    initialized = models.BooleanField(default=False)
    stale_lock_minutes = models.PositiveIntegerField(
        default=default_stale_lock_minutes,
        help_text="restic locks older than this, whose process is gone, go.",
    )
    created = models.DateTimeField(default=timezone.now)
    # The hub's mutex: one job at a time per repository (a lease that expires, renewed while it works).
    lease_holder = models.CharField(max_length=100, blank=True, default="")
    lease_expires = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "location_hash"], name="backup_repository_once")
        ]
        verbose_name_plural = "repositories"

    def __str__(self):
        return display_location(self.location)

    def save(self, *args, **kwargs):
        self.location = self.location.strip()
        self.location_hash = location_key(self.location)
        super().save(*args, **kwargs)

    @classmethod
    def for_location(
        cls, organization, location: str, password: str, env: dict | None = None
    ) -> "Repository":
        """Return the organization's repository at `location`, creating it; refuse another password."""
        location = location.strip()
        repo = cls.objects.filter(organization=organization, location_hash=location_key(location)).first()
        if repo is None:
            repo = cls.objects.create(
                organization=organization, location=location, password=password, env=env or {}
            )
            changes = {"location": repo.shown_location, "env": sorted(repo.env)}
            audit.record("create", repo, organization=organization, changes=changes)
            return repo
        if repo.password != password:
            raise RepositoryConflict(
                f"The repository {repo.shown_location} is already registered in {organization.slug} with "
                "another password; give the password it was created with."
            )
        if env is not None and env != repo.env:
            repo.env = env
            repo.save(update_fields=["env"])
            audit.record("update", repo, organization=organization, changes={"env": sorted(env)})
        return repo

    @property
    def shown_location(self) -> str:
        return display_location(self.location)

    def spec(self):
        """Return the engine's RepoSpec for this repository."""
        from ..engine import RepoSpec

        env = {str(k): str(v) for k, v in (self.env or {}).items()}
        return RepoSpec(
            location=self.location,
            password=self.password,
            env=env,
            restic=settings.BACKUP_RESTIC,
            cache_dir=settings.BACKUP_CACHE_DIR or None,
        )

    # --- the lease ------------------------------------------------------------------------------------
    def acquire(self, holder: str, minutes: int | None = None) -> bool:
        """Take the lease for `holder` if it is free or expired (atomic on SQLite and PostgreSQL)."""
        now = timezone.now()
        until = now + timedelta(minutes=minutes or settings.BACKUP_LEASE_MINUTES)
        free = Q(lease_holder="") | Q(lease_expires__lt=now) | Q(lease_holder=holder)
        taken = Repository.objects.filter(Q(pk=self.pk) & free).update(
            lease_holder=holder, lease_expires=until
        )
        if taken:
            self.lease_holder, self.lease_expires = holder, until
        return bool(taken)

    def renew(self, holder: str, minutes: int | None = None) -> bool:
        """Extend `holder`'s lease; False when it no longer holds it."""
        until = timezone.now() + timedelta(minutes=minutes or settings.BACKUP_LEASE_MINUTES)
        return bool(Repository.objects.filter(pk=self.pk, lease_holder=holder).update(lease_expires=until))

    def release(self, holder: str) -> None:
        """Give the lease back (only `holder`'s own)."""
        Repository.objects.filter(pk=self.pk, lease_holder=holder).update(lease_holder="", lease_expires=None)


class StorageSample(models.Model):
    """The repository's size after a backup: the storage growth plot and the growth finding use these."""

    repository = models.ForeignKey(Repository, models.CASCADE, related_name="samples")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    total_size = models.BigIntegerField(help_text="Bytes the repository stores (restic stats, raw data).")
    bytes_added = models.BigIntegerField(null=True, blank=True, help_text="Bytes the backup added.")
    snapshots = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.total_size} bytes at {self.at:%Y-%m-%d %H:%M}"
