"""Jobs of the errors app: process spooled envelopes, sweep the spool, end ignores and spikes, prune events.

The ingest view calls `process_envelope(raw_id)` after its commit. That enqueues one `process_spool_job`
unless one is already waiting (a flag in the shared cache): the job drains the spool in batches (see
processing.py), so a burst of 10,000 envelopes costs a handful of jobs, not 10,000. If the process dies
between the commit and the job (or the queue loses it), `sweep_spool` finds envelopes still spooled after a
minute and enqueues a job for them, so nothing accepted is lost; processing twice is harmless.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, close_old_connections
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import processing

log = logging.getLogger(__name__)
PENDING_KEY = "keepwell:errors:spool-job-pending"
PENDING_TTL = 60  # seconds: a lost job's flag expires, and the sweep catches what it would have done
JOB_BUDGET = 60  # seconds one job keeps draining the spool before it leaves the rest to the next job
SWEEP_AFTER = timedelta(minutes=1)
PRUNE_BATCH = 2_000
LOCKED_RETRIES = 6


def process_envelope(raw_id: int) -> None:
    """Have spooled envelope `raw_id` processed: enqueue a job for the spool unless one is waiting."""
    if cache.add(PENDING_KEY, raw_id, timeout=PENDING_TTL):
        process_spool_job(raw_id)


@db_task(retries=3, retry_delay=10)
def process_spool_job(first: int | None = None) -> int:
    """Process the spool in batches until it is empty (or JOB_BUDGET has passed); return the events stored."""
    # Cleared before reading the spool: an envelope committed from now on enqueues a job of its own.
    cache.delete(PENDING_KEY)
    stored, deadline = 0, time.monotonic() + JOB_BUDGET
    outcome = _retrying(processing.process_spool, first)
    if outcome is None and first is not None:
        outcome = _retrying(processing.process_spool)
    while outcome is not None:
        stored += len(outcome.events)
        if outcome.envelopes < processing.BATCH or time.monotonic() > deadline:
            break
        outcome = _retrying(processing.process_spool)
    if outcome is not None and outcome.envelopes == processing.BATCH:
        process_envelope(0)  # more to do: leave it to a fresh job
    return stored


def _retrying(func, *args):
    for attempt in range(LOCKED_RETRIES + 1):
        try:
            return func(*args)
        except OperationalError as exc:
            # SQLite lets one writer in at a time; a burst can outlast its busy timeout. Try again shortly
            # rather than leave the spool to the job's retry or to the sweep a minute later.
            if "locked" not in str(exc) or attempt == LOCKED_RETRIES:
                raise
            close_old_connections()
            time.sleep(0.05 * 2**attempt)


@db_periodic_task(crontab(minute="*"))
def sweep_spool():
    """Enqueue a job when envelopes spooled more than a minute ago are still there; return how many."""
    from .models import RawEnvelope

    left = RawEnvelope.objects.filter(received_at__lt=timezone.now() - SWEEP_AFTER).count()
    if left:
        log.warning("%d spooled envelopes waited more than a minute; processing them now", left)
        process_spool_job()
    end_ignores()
    return left


def end_ignores() -> int:
    """Return groups ignored until a time now past to unresolved; return how many."""
    from .models import ErrorGroup

    Status = ErrorGroup.Status
    return ErrorGroup.objects.filter(status=Status.IGNORED, ignored_until__lte=timezone.now()).update(
        status=Status.UNRESOLVED, ignored_until=None, ignored_until_count=None
    )


@db_periodic_task(crontab(minute="5"))
def end_spikes():
    """Resolve spike findings whose hour is over and that no later hour renewed; return how many."""
    from keepwell.core.findings import resolve_finding
    from keepwell.core.models import Finding
    from keepwell.core.models.findings import State

    quiet_since = timezone.now() - timedelta(hours=1)
    stale = Finding.objects.filter(
        source=processing.SOURCE, key__endswith=":spike", last_seen__lt=quiet_since
    ).exclude(state=State.RESOLVED)
    done = 0
    for finding in stale.select_related("service"):
        resolve_finding(finding.service, source=finding.source, key=finding.key, note="the spike is over")
        done += 1
    return done


@db_periodic_task(crontab(minute="41", hour="*/6"))
def prune_events():
    """Delete events, attachments, user reports and sessions older than KEEPWELL_ERRORS_RETENTION_DAYS."""
    return prune(timezone.now() - timedelta(days=settings.ERRORS_RETENTION_DAYS))


def prune(before) -> int:
    """Delete what is older than `before`, in batches (groups stay); return how many events were deleted."""
    from .models import ErrorEvent, EventAttachment, GroupHour, ReleaseSession, SessionBucket, UserReport

    deleted = 0
    while True:
        ids = list(ErrorEvent.objects.filter(timestamp__lt=before).values_list("id", flat=True)[:PRUNE_BATCH])
        if not ids:
            break
        deleted += ErrorEvent.objects.filter(id__in=ids).delete()[0]
    for model, field in (
        (EventAttachment, "created"),
        (UserReport, "created"),
        (ReleaseSession, "started"),
        (SessionBucket, "started"),
    ):
        model.objects.filter(**{f"{field}__lt": before}).delete()
    # The spike baseline needs the hours of the past week, whatever the retention.
    GroupHour.objects.filter(hour__lt=min(before, timezone.now() - timedelta(days=8))).delete()
    return deleted
