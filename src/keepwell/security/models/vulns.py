"""Vulnerabilities found in services and the team's VEX decisions."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from keepwell.core.models import Organization, Service

__all__ = ["ServiceVulnerability", "VexDecision", "VulnerabilityScan"]

SEVERITY_CHOICES = [(s, s) for s in ("critical", "high", "medium", "low", "unknown")]


class VulnerabilityScan(models.Model):
    """One scan of a service's repository against the OSV database."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, models.CASCADE, related_name="vulnerability_scans")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    error = models.TextField(blank=True)
    started = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)
    dependencies = models.PositiveIntegerField(default=0, help_text="Pinned dependencies checked.")
    unpinned = models.PositiveIntegerField(default=0, help_text="Declared with a range only: not checked.")
    found = models.PositiveIntegerField(default=0)
    database_built_at = models.CharField(max_length=40, blank=True)
    # Everything the SBOM needs, so that it can be served without reading the repository again.
    components = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started", "-id"]

    def __str__(self):
        return f"vulnerability scan of {self.service_id} at {self.started:%Y-%m-%d %H:%M}"


class ServiceVulnerability(models.Model):
    """A known vulnerability (a group of aliased OSV advisories) of one package a service depends on."""

    class State(models.TextChoices):
        AFFECTED = "affected", "Affected"
        UNDER_INVESTIGATION = "under_investigation", "Under investigation"
        NOT_AFFECTED = "not_affected", "Not affected (VEX)"
        FALSE_POSITIVE = "false_positive", "False positive (VEX)"
        FIXED = "fixed", "Fixed (no longer in the repository)"

    OPEN_STATES = (State.AFFECTED, State.UNDER_INVESTIGATION)

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, models.CASCADE, related_name="vulnerabilities")
    package = models.CharField(max_length=300)
    ecosystem = models.CharField(max_length=20)
    version = models.CharField(max_length=200)
    osv_id = models.CharField(max_length=200, help_text="The advisory that names the vulnerability.")
    aliases = models.JSONField(default=list, blank=True, help_text="Its other ids (CVE, GHSA, PYSEC, ...).")
    severity = models.CharField(max_length=10, choices=SEVERITY_CHOICES, default="unknown")
    cvss_score = models.FloatField(null=True, blank=True)
    cvss_vector = models.CharField(max_length=500, blank=True)
    fixed_in = models.CharField(max_length=200, blank=True, help_text="The smallest version that clears it.")
    package_fixed_in = models.CharField(
        max_length=200, blank=True, help_text="The smallest version that clears all of this package's."
    )
    summary = models.CharField(max_length=300, blank=True)
    source_file = models.CharField(max_length=1000, blank=True)
    source_line = models.PositiveIntegerField(null=True, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=20, choices=State.choices, default=State.AFFECTED)

    class Meta:
        ordering = ["package", "osv_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "ecosystem", "package", "osv_id"], name="one_row_per_package_vulnerability"
            )
        ]
        indexes = [models.Index(fields=["service", "state"])]

    def __str__(self):
        return f"{self.package} {self.version}: {self.osv_id}"

    @property
    def ids(self) -> set[str]:
        return {self.osv_id, *self.aliases}

    @property
    def finding_key(self) -> str:
        """Return the core finding's key: stable while the advisory that names the group changes."""
        return f"vuln:{self.pk}"

    @property
    def url(self) -> str:
        return f"https://osv.dev/vulnerability/{self.osv_id}"


class VexDecision(models.Model):
    """The team's statement about a vulnerability in this service (VEX): affected, or not and why."""

    class State(models.TextChoices):
        AFFECTED = "affected", "Affected"
        NOT_AFFECTED = "not_affected", "Not affected"
        UNDER_INVESTIGATION = "under_investigation", "Under investigation"
        FALSE_POSITIVE = "false_positive", "False positive"

    organization = models.ForeignKey(Organization, models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, models.CASCADE, related_name="vex_decisions")
    vulnerability = models.CharField(max_length=200, help_text="An OSV id or any alias (CVE-..., GHSA-...).")
    package = models.CharField(max_length=300, blank=True, help_text="Blank: every package it affects.")
    state = models.CharField(max_length=20, choices=State.choices)
    justification = models.CharField(
        max_length=40, blank=True, help_text="CycloneDX's; required for not_affected."
    )
    detail = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["vulnerability", "package"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "vulnerability", "package"], name="one_vex_decision_per_vulnerability"
            )
        ]

    def __str__(self):
        return f"{self.vulnerability} {self.package or '(all)'}: {self.state}"

    def applies_to(self, row: ServiceVulnerability) -> bool:
        return self.vulnerability in row.ids and (not self.package or self.package == row.package)

    def statement(self):
        from keepwell.security.sbom import VexStatement

        return VexStatement(
            vulnerability=self.vulnerability,
            state=self.state,
            justification=self.justification,
            detail=self.detail,
            package=self.package,
            first_issued=self.created_at,
            last_updated=self.updated_at,
        )
