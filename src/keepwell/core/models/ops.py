"""Operations: counts the job workers share with /metrics, whatever process they run in."""

from django.db import models
from django.db.models import F
from django.utils import timezone


class JobFailureCount(models.Model):
    """How many times each job has failed, across every worker process and machine."""

    task = models.CharField(max_length=200, unique=True)
    count = models.PositiveBigIntegerField(default=0)
    last_failed = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["task"]

    def __str__(self):
        return f"{self.task}: {self.count}"

    @classmethod
    def record(cls, task: str, error: str = "") -> None:
        """Count one failure of `task` (atomic across processes)."""
        # bulk_create sends no model signals, so these rows stay out of the audit log.
        cls.objects.bulk_create([cls(task=task[:200])], ignore_conflicts=True)
        cls.objects.filter(task=task[:200]).update(
            count=F("count") + 1, last_failed=timezone.now(), last_error=error[:500]
        )


def _on_job_error(signal, task, exc=None):
    JobFailureCount.record(task.name, f"{type(exc).__name__}: {exc}" if exc else "")


def connect_job_signals() -> None:
    """Count failed jobs in every process that runs them (workers, and the web process in immediate mode)."""
    from huey.contrib.djhuey import HUEY
    from huey.signals import SIGNAL_ERROR

    if _on_job_error not in HUEY._signal.receivers.get(SIGNAL_ERROR, []):
        HUEY.signal(SIGNAL_ERROR)(_on_job_error)


# Connected when the models load, which every keepwell process does before it runs a job.
connect_job_signals()
