"""When a heartbeat is expected next, when it goes down, and how long a run took: pure, no Django.

Every function takes the current time as an argument, so tests drive it with any clock they like. Validating
cron expressions and finding when they fire is keepwell.core.cron, shared with backups.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from keepwell.core import cron

MIN_PERIOD = 60  # seconds: Healthchecks' smallest period and grace
MAX_PERIOD = 365 * 86400
MAX_EXIT_STATUS = 255


def validate_period(name: str, seconds: int) -> int:
    """Return `seconds` if it is a valid period or grace, else raise ValueError naming `name`."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise ValueError(f"{name} must be a whole number of seconds")
    if not MIN_PERIOD <= seconds <= MAX_PERIOD:
        raise ValueError(f"{name} must be between {MIN_PERIOD} seconds and {MAX_PERIOD} seconds (a year)")
    return seconds


def next_expected(
    kind: str,
    *,
    last_ping: datetime,
    period: int = 0,
    schedule: str = "",
    tz: str = "UTC",
    next_fire: Callable[[str, str, datetime], datetime] = cron.next_fire,
) -> datetime:
    """Return when the ping after one at `last_ping` is expected (`next_fire` finds a cron line's next run)."""
    if kind == "cron":
        return next_fire(schedule, tz, last_ping)
    return last_ping + timedelta(seconds=period)


def going_down_after(
    status: str,
    *,
    kind: str,
    last_ping: datetime | None,
    last_start: datetime | None,
    period: int = 0,
    grace: int = 0,
    schedule: str = "",
    tz: str = "UTC",
    next_fire: Callable[[str, str, datetime], datetime] = cron.next_fire,
) -> datetime | None:
    """Return the moment a heartbeat in `status` goes down if no ping arrives, or None if it cannot."""
    if status == "started" and last_start is not None:
        # A run that started must finish within the grace time.
        return last_start + timedelta(seconds=grace)
    if status != "up" or last_ping is None:
        return None  # new, paused and down heartbeats wait for a ping
    expected = next_expected(
        kind, last_ping=last_ping, period=period, schedule=schedule, tz=tz, next_fire=next_fire
    )
    if expected.year >= 9999:  # cron.NEVER: an expression that never fires (30 February)
        return None
    return expected + timedelta(seconds=grace)


def is_late(alert_after: datetime | None, now: datetime) -> bool:
    """Return True when a heartbeat due to go down at `alert_after` is down at `now`."""
    return alert_after is not None and now >= alert_after


def run_duration(started: datetime | None, finished: datetime) -> timedelta | None:
    """Return how long a run took from its start ping to its finish ping, or None without a usable start."""
    if started is None or started > finished:
        return None
    return finished - started


def parse_exit_status(text: str) -> int:
    """Return the exit status in a ping URL (0 to 255), or raise ValueError."""
    if not text.isascii() or not text.isdigit() or len(text) > 3 or int(text) > MAX_EXIT_STATUS:
        raise ValueError(f"The exit status must be a number from 0 to {MAX_EXIT_STATUS}, not {text[:20]!r}.")
    return int(text)


def body_limit(header: str | None, default: int) -> int:
    """Return how many bytes of a ping body to keep: a smaller limit the client asks for, else `default`."""
    if header is None:
        return default
    header = header.strip()
    if not header.isascii() or not header.isdigit() or len(header) > 12:
        return default  # a malformed header never costs the ping
    return min(int(header), default)


@dataclass
class PingEffect:
    """What one ping does to a heartbeat: its new state, and whether a finding opens or resolves."""

    kind: str  # success, start, fail or log (an exit status made it success or fail)
    status: str
    last_ping: datetime | None
    last_start: datetime | None
    duration: timedelta | None  # of the run this ping finished
    alert_after: datetime | None
    went_down: bool = False
    came_up: bool = False


def apply_ping(
    *,
    ping_kind: str,
    exit_status: int | None,
    now: datetime,
    status: str,
    kind: str,
    period: int,
    grace: int,
    schedule: str,
    tz: str,
    last_ping: datetime | None,
    last_start: datetime | None,
    alert_after: datetime | None,
    rid_given: bool = False,
    rid_start: datetime | None = None,
    next_fire: Callable[[str, str, datetime], datetime] = cron.next_fire,
) -> PingEffect:
    """Return the effect of a ping at `now` on a heartbeat in the state given (with `rid`: its start's time).

    `next_fire` finds a cron line's next run: a replay of many pings passes a memoizing one.
    """
    if exit_status is not None:
        ping_kind = "success" if exit_status == 0 else "fail"
    duration = None
    if ping_kind in ("success", "fail"):
        started = rid_start if rid_given else last_start
        if not rid_given and started is not None and last_ping is not None and started < last_ping:
            started = None  # that start was already finished by an earlier ping
        duration = run_duration(started, now)
    effect = PingEffect(ping_kind, status, last_ping, last_start, duration, alert_after)
    if ping_kind == "log":
        return effect
    if ping_kind == "start":
        effect.last_start, effect.status = now, "started"
    else:
        effect.last_ping, effect.status = now, ("up" if ping_kind == "success" else "down")
    effect.alert_after = going_down_after(
        effect.status,
        kind=kind,
        last_ping=effect.last_ping,
        last_start=effect.last_start,
        period=period,
        grace=grace,
        schedule=schedule,
        tz=tz,
        next_fire=next_fire,
    )
    effect.went_down = effect.status == "down" and status != "down"
    # Up from down, or from a run that began while it was down (new and paused ones have no finding).
    effect.came_up = effect.status == "up" and status not in ("up", "new", "paused")
    return effect
