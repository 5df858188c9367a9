"""Heartbeat jobs: mark late heartbeats down, and trim each ping log.

A periodic pass runs every minute as a safety net. So that "down" is known within seconds of the deadline,
each pass also asks for a one-off pass at the next deadline when it falls within HORIZON. Requests are
bucketed to STEP seconds and deduplicated through the shared cache (as core.tasks does for alerting).
Passes are idempotent: a heartbeat goes down once, however many passes run at the same moment.
"""

import math
import time

from django.conf import settings
from django.core.cache import cache
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import heartbeats

STEP = 2  # seconds: the granularity of one-off passes
HORIZON = 60  # seconds: later deadlines are left to the periodic pass


@db_periodic_task(crontab(minute="*"))
def heartbeats_pass():
    """Mark heartbeats whose deadline has passed as down; ask for a pass at the next deadline."""
    down = heartbeats.mark_late_down()
    schedule_next_heartbeats_pass()
    return down


@db_task()
def heartbeats_pass_soon():
    """Run one heartbeat pass now (scheduled by `schedule_heartbeats_pass`)."""
    down = heartbeats.mark_late_down()
    schedule_next_heartbeats_pass()
    return down


def schedule_heartbeats_pass(at: float) -> bool:
    """Ask for a heartbeat pass at UNIX time `at` (rounded up to STEP); False if already asked or too far."""
    bucket = math.ceil(at / STEP) * STEP
    delay = bucket - time.time()
    if delay > HORIZON:
        return False
    if not cache.add(f"keepwell:heartbeats-pass:{bucket}", 1, timeout=HORIZON + 2 * STEP):
        return False
    # At least a second ahead, so that it never runs inline inside the request (or test) that asked.
    heartbeats_pass_soon.schedule(delay=max(1.0, delay))
    return True


def schedule_next_heartbeats_pass() -> bool:
    """Schedule a pass at the next heartbeat deadline, if it falls within HORIZON."""
    deadline = heartbeats.next_deadline()
    if deadline is None:
        return False
    return schedule_heartbeats_pass(max(deadline.timestamp(), time.time()))


@db_periodic_task(crontab(minute="17"))
def prune_pings():
    """Keep the newest PING_LOG_LIMIT pings of each heartbeat; return how many were deleted."""
    from .models import Heartbeat, Ping

    keep = settings.PING_LOG_LIMIT
    deleted = 0
    over = Heartbeat.objects.filter(n_pings__gt=keep).values_list("id", "n_pings")
    for heartbeat_id, n_pings in over.iterator():
        deleted += Ping.objects.filter(heartbeat_id=heartbeat_id, n__lte=n_pings - keep).delete()[0]
    return deleted
