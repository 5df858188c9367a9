"""Cron lines in a time zone: validating them and finding when they fire. Pure, no Django.

Shared by the practice apps (heartbeat schedules in monitoring, plan schedules in backups). Every function
takes the reference time as an argument, so tests drive it with any clock they like.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter

MAX_CRON = 100  # characters of a cron line (the models' fields)
MAX_ZONE = 64  # characters of a time zone name
NEVER = datetime.max.replace(tzinfo=UTC)  # when a line that never fires (30 February) fires next

_BAD_LINE = (CroniterBadCronError, CroniterNotAlphaError, CroniterBadDateError, ValueError, KeyError)
_NO_FIRE = (CroniterBadDateError, CroniterBadCronError, ValueError)


def zone(tz: str) -> ZoneInfo:
    """Return the time zone named `tz` (e.g. Europe/Berlin), or raise ValueError."""
    if not isinstance(tz, str) or not tz or len(tz) > MAX_ZONE or "\x00" in tz:
        raise ValueError("the time zone must be a name such as UTC or Europe/Berlin")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"{tz!r} is not a known time zone; use a name such as UTC or Europe/Berlin"
        ) from None


def validate_cron(line: str, tz: str = "UTC", *, field: str = "schedule", noun: str = "cron line") -> str:
    """Return the cron line, tidied, if it is valid in `tz`; else raise ValueError naming `field` and saying why.

    `noun` is what the messages call the line ("cron line" in backups, "cron expression" in monitoring).
    """
    zone(tz)
    if not isinstance(line, str) or not line.strip():
        raise ValueError(f"{field} must be a {noun} such as '0 3 * * *' (minute hour day month weekday)")
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
    except _BAD_LINE as exc:
        raise ValueError(f"{field} {line!r} is not a valid {noun} ({exc})") from None
    return line


def next_fire(line: str, tz: str, after: datetime) -> datetime:
    """Return the first time strictly after `after` that cron `line` fires in zone `tz` (in UTC).

    A line that never fires (30 February) answers NEVER: never due, never late.
    """
    local = after.astimezone(zone(tz))
    try:
        fire = croniter(line, local).get_next(datetime)
    except _NO_FIRE:
        return NEVER
    return fire.astimezone(UTC)


def previous_fire(line: str, tz: str, before: datetime) -> datetime | None:
    """Return the last time at or before `before` that cron `line` fired in zone `tz` (in UTC), or None."""
    local = before.astimezone(zone(tz))
    try:
        fire = croniter(line, local + timedelta(seconds=1)).get_prev(datetime)
    except _NO_FIRE:
        return None
    return fire.astimezone(UTC)
