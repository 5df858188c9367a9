"""Core's jobs: the alerting pass, and pruning old alerting history once a day.

A periodic pass runs every minute on whichever worker picks it up, as a safety net. So that a burst goes out
when its group window closes rather than up to a minute later, a new finding event and every pass also ask
for a one-off pass at the next moment something falls due. Requests are bucketed to STEP seconds and
deduplicated through the shared cache, so a burst of 10,000 findings schedules a handful of passes, not
10,000. Passes are idempotent and safe to run at once, so a duplicate costs only a few queries.
"""

import math
import time

from django.core.cache import cache
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from .alerting import run_pass

STEP = 5  # seconds: the granularity of one-off passes
HORIZON = 60  # seconds: anything due later is left to the periodic pass


@db_periodic_task(crontab(minute="*"))
def alerting_pass():
    """Route new finding events, send due notifications, retries, reminders and escalations."""
    stats = run_pass()
    schedule_next_pass()
    return stats


@db_task()
def alerting_pass_soon():
    """Run one alerting pass now (scheduled by `schedule_pass`)."""
    stats = run_pass()
    schedule_next_pass()
    return stats


def schedule_pass(at: float) -> bool:
    """Ask for an alerting pass at UNIX time `at` (rounded up to STEP); return False if one is already asked."""
    bucket = math.ceil(at / STEP) * STEP
    delay = bucket - time.time()
    if delay > HORIZON:
        return False
    if not cache.add(f"keepwell:alerting-pass:{bucket}", 1, timeout=HORIZON + 2 * STEP):
        return False
    # At least a second ahead, so that it never runs inline inside the request (or test) that asked.
    alerting_pass_soon.schedule(delay=max(1.0, delay))
    return True


def schedule_next_pass() -> bool:
    """Schedule a pass at the earliest moment a notification or outbox row falls due, if within HORIZON."""
    from django.db.models import Min

    from .models import AlertEvent, Notification

    if AlertEvent.objects.filter(routed_at=None).exists():
        return schedule_pass(time.time())
    Status = Notification.Status
    earliest = Notification.objects.filter(
        status__in=[Status.GROUPING, Status.HELD, Status.PENDING]
    ).aggregate(at=Min("next_attempt_at"))["at"]
    if earliest is None:
        return False
    return schedule_pass(max(earliest.timestamp(), time.time()))


@db_periodic_task(crontab(minute="17", hour="3"))
def prune_alerting_history():
    """Delete alerting history older than KEEPWELL_ALERT_RETENTION_DAYS."""
    from .alerting.retention import prune_history

    return prune_history()


@db_periodic_task(crontab(minute="27", hour="3"))
def sweep_repository_clones():
    """Remove clones whose service is gone (or no longer a git URL) that were in use when it changed."""
    from .repositories import sweep_clones

    return sweep_clones()
