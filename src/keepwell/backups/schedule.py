"""When a plan's jobs are due, and when a backup is overdue: pure, no Django.

Parsing cron lines and finding when they fire is keepwell.core.cron, shared with monitoring.

Every function takes the current time as an argument, so tests drive it with any clock they like.
"""

from datetime import datetime, timedelta

from keepwell.core import cron


def is_due(next_at: datetime | None, now: datetime) -> bool:
    """Return True when a job due at `next_at` should start at `now`."""
    return next_at is not None and next_at <= now


def backup_deadline(
    line: str, tz: str, *, last_good: datetime | None, since: datetime, grace_minutes: int
) -> datetime:
    """Return when a backup is overdue: the run after the last good one (or after `since`) plus grace."""
    expected = cron.next_fire(line, tz, last_good or since)
    if expected == cron.NEVER:
        return cron.NEVER
    return expected + timedelta(minutes=grace_minutes)


def overdue_by(
    line: str, tz: str, *, last_good: datetime | None, since: datetime, grace_minutes: int, now: datetime
) -> timedelta | None:
    """Return how late the next backup is at `now` (past schedule plus grace), or None when it is not late."""
    deadline = backup_deadline(line, tz, last_good=last_good, since=since, grace_minutes=grace_minutes)
    if deadline == cron.NEVER or now <= deadline:
        return None
    return now - deadline


def restore_too_old(
    last_verified: datetime | None, *, since: datetime, max_age_days: int, now: datetime
) -> bool:
    """Return True when no restore has been verified for `max_age_days` (counting from `since` if never)."""
    if max_age_days <= 0:
        return False
    return now - (last_verified or since) > timedelta(days=max_age_days)


def age_words(delta: timedelta) -> str:
    """Return a duration in plain words: '3 minutes', '5 hours', '2 days'."""
    seconds = max(0, int(delta.total_seconds()))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"
