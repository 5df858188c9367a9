"""An update proposal: a group of updates written into a branch (or a patch) and tested by the service's tests."""

from django.db import models
from django.utils import timezone

from keepwell.core.models import Service, User


class Proposal(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PASSED = "passed", "Tests passed"
        FAILED = "failed", "Tests failed"
        UNTESTED = "untested", "Written, not tested"
        ERROR = "error", "Could not be tested"

    class Group(models.TextChoices):
        MINOR_PATCH = "minor-patch", "Minor and patch updates"
        MAJOR = "major", "A major update"

    service = models.ForeignKey(Service, models.CASCADE, related_name="dependency_proposals")
    ecosystem = models.CharField(max_length=20)
    group = models.CharField(max_length=20, choices=Group.choices)
    title = models.CharField(max_length=300)
    changes = models.JSONField(default=list, help_text="[{name, ecosystem, from, to, source, line}]")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    mode = models.CharField(max_length=10, blank=True, help_text="branch or patch")
    branch = models.CharField(max_length=200, blank=True)
    patch = models.TextField(blank=True)
    edited_files = models.JSONField(default=list, blank=True)
    test_command = models.CharField(max_length=500, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    output = models.TextField(blank=True, help_text="The end of the test command's output.")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return self.title
