"""Time arithmetic for alerting: quiet hours, maintenance windows and retry backoff. No Django here.

Every function takes and returns timezone-aware datetimes; local wall-clock rules (quiet hours, recurring
windows) are evaluated in the named IANA time zone so that they follow daylight saving time.
"""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

RETRY_BASE = 30  # seconds
RETRY_CAP = 3600  # seconds
PERIODS = {"daily": 1, "weekly": 7}


def zone(name: str) -> ZoneInfo:
    """Return the time zone called `name`, or raise ValueError with a clear message."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a known time zone; use an IANA name such as Europe/Paris."
        ) from None


def _aware(local_day, wall: time, tz: ZoneInfo) -> datetime:
    """Return the instant of wall-clock `wall` on `local_day` in `tz` (a skipped time moves forward)."""
    naive = datetime.combine(local_day, wall)
    instant = naive.replace(tzinfo=tz).astimezone(UTC)
    # In a spring-forward gap the wall time does not exist; the round trip lands after the gap.
    return instant


def quiet_until(now: datetime, start: time | None, end: time | None, tz_name: str) -> datetime | None:
    """Return when the quiet hours around `now` end, or None when `now` is not in quiet hours.

    The window [start, end) is local time in `tz_name` and may cross midnight (22:00 to 07:00).
    Equal or missing start and end mean no quiet hours.
    """
    if start is None or end is None or start == end:
        return None
    tz = zone(tz_name)
    local = now.astimezone(tz)
    wall = local.time().replace(tzinfo=None)
    today = local.date()
    if start < end:
        if start <= wall < end:
            return _aware(today, end, tz)
        return None
    # Crosses midnight: quiet from start to 24:00 and from 00:00 to end.
    if wall >= start:
        return _aware(today + timedelta(days=1), end, tz)
    if wall < end:
        return _aware(today, end, tz)
    return None


def window_occurrence(
    at: datetime,
    starts_at: datetime,
    ends_at: datetime,
    recurrence: str = "none",
    until: datetime | None = None,
    tz_name: str = "UTC",
) -> tuple[datetime, datetime] | None:
    """Return (start, end) of the occurrence of a maintenance window that covers `at`, or None.

    A recurring window repeats at the same local wall-clock time in `tz_name` every day or week (so it
    follows daylight saving time), for as long as the first occurrence lasted; occurrences starting after
    `until` do not apply.
    """
    duration = ends_at - starts_at
    if duration <= timedelta(0):
        return None
    if recurrence not in PERIODS:
        return (starts_at, ends_at) if starts_at <= at < ends_at else None
    if at < starts_at:
        return None
    period = PERIODS[recurrence]
    tz = zone(tz_name)
    first_local = starts_at.astimezone(tz)
    wall = first_local.time().replace(tzinfo=None)
    elapsed_days = (at.astimezone(tz).date() - first_local.date()).days
    k = elapsed_days // period
    # A window may last longer than its period: look back far enough to find one still running.
    lookback = duration.days // period + 2
    for i in range(k, max(k - lookback, -1), -1):
        start = _aware(first_local.date() + timedelta(days=i * period), wall, tz)
        if until is not None and start > until:
            continue
        if start <= at < start + duration:
            return start, start + duration
    return None


def retry_delay(attempt: int) -> timedelta:
    """Return how long to wait after failed attempt number `attempt` (1, 2, ...) before the next."""
    return timedelta(seconds=min(2 ** max(attempt, 0) * RETRY_BASE, RETRY_CAP))


def reminder_slot(now: datetime, opened_at: datetime, every: int) -> int:
    """Return which reminder (1, 2, ...) is due for a finding opened at `opened_at`, or 0 for none yet."""
    if every <= 0:
        return 0
    return max(int((now - opened_at).total_seconds() // every), 0)
