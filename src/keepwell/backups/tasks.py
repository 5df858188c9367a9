"""Jobs of the backups app: the minute tick that queues what is due, and the job that runs one run."""

import logging

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

log = logging.getLogger("keepwell.backups")


@db_periodic_task(crontab(minute="*"))
def backups_tick():
    """Queue the backups, forgets, checks and drills that are due; update the time-based findings."""
    from . import jobs, selfbackup

    runs = jobs.tick()
    selfbackup.tick()
    return [r.pk for r in runs]


@db_task()
def run_job(run_id: int):
    """Execute one queued run; when its repository is busy, try again later (the run stays queued)."""
    from . import jobs
    from .models import Run

    run = Run.objects.filter(pk=run_id).first()
    if run is None:
        return None
    try:
        return jobs.execute(run).state
    except jobs.RepositoryBusy as exc:
        log.info("backups: %s", exc)
        run_job.schedule(args=(run_id,), delay=settings.BACKUP_BUSY_RETRY_SECONDS)
        return "busy"


@db_task()
def self_backup_job():
    """Back up keepwell itself with the configured repository (the default plan)."""
    from . import selfbackup

    try:
        repository, password = selfbackup.configured()
        return selfbackup.run(repository, password)["summary"]
    except (ValueError, selfbackup.SelfBackupError) as exc:
        log.error("backups: %s", exc)
        return str(exc)
