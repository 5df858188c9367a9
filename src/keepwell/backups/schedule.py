"""When a plan's jobs are due, and when a backup is overdue: pure, no Django.

Every function takes the current time as an argument, so tests drive it with any clock they like.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter

MAX_CRON = 100  # characters (the model's field)
NEVER = datetime.max.replace(tzinfo=UTC)


def zone(tz: str) -> ZoneInfo:
    """Return the time zone named `tz` (e.g. Europe/Berlin), or raise ValueError."""
    if not isinstance(tz, str) or not tz or len(tz) > 64 or "\x00" in tz:
        raise ValueError("the time zone must be a name such as UTC or Europe/Berlin")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"{tz!r} is not a known time zone; use a name such as UTC or Europe/Berlin"
        ) from None


def validate_cron(line: str, tz: str = "UTC", *, field: str = "schedule") -> str:
    """Return the cron line, tidied, if it is valid; else raise ValueError naming `field` and saying why."""
    zone(tz)
    if not isinstance(line, str) or not line.strip():
        raise ValueError(f"{field} must be a cron line such as '0 3 * * *' (minute hour day month weekday)")
    line = " ".join(line.split())
    if len(line) > MAX_CRON or "\x00" in line:
        raise ValueError(f"{field} must be at most {MAX_CRON} characters")
    fields = line.split(" ")
    if len(fields) != 5:
        raise ValueError(
            f"{field} must have five fields (minute hour day month weekday), not {len(fields)}: {line!r}"
        )
    try:
        croniter(line, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except (CroniterBadCronError, CroniterNotAlphaError, CroniterBadDateError, ValueError, KeyError) as exc:
        raise ValueError(f"{field} {line!r} is not a valid cron line ({exc})") from None
    return line


def next_fire(line: str, tz: str, after: datetime) -> datetime:
    """Return the first time strictly after `after` that cron `line` fires in zone `tz` (in UTC)."""
    local = after.astimezone(zone(tz))
    try:
        fire = croniter(line, local).get_next(datetime)
    except (CroniterBadDateError, CroniterBadCronError, ValueError):
        return NEVER  # a line that never fires (30 February) is never due and never late
    return fire.astimezone(UTC)


def previous_fire(line: str, tz: str, before: datetime) -> datetime | None:
    """Return the last time at or before `before` that cron `line` fired (in UTC), or None."""
    local = before.astimezone(zone(tz))
    try:
        fire = croniter(line, local + timedelta(seconds=1)).get_prev(datetime)
    except (CroniterBadDateError, CroniterBadCronError, ValueError):
        return None
    return fire.astimezone(UTC)


def is_due(next_at: datetime | None, now: datetime) -> bool:
    """Return True when a job due at `next_at` should start at `now`."""
    return next_at is not None and next_at <= now


def backup_deadline(
    line: str, tz: str, *, last_good: datetime | None, since: datetime, grace_minutes: int
) -> datetime:
    """Return when a backup is overdue: the run after the last good one (or after `since`) plus grace."""
    expected = next_fire(line, tz, last_good or since)
    if expected == NEVER:
        return NEVER
    return expected + timedelta(minutes=grace_minutes)


def overdue_by(
    line: str, tz: str, *, last_good: datetime | None, since: datetime, grace_minutes: int, now: datetime
) -> timedelta | None:
    """Return how late the next backup is at `now` (past schedule plus grace), or None when it is not late."""
    deadline = backup_deadline(line, tz, last_good=last_good, since=since, grace_minutes=grace_minutes)
    if deadline == NEVER or now <= deadline:
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
