"""What a public status page shows, worked out from plain values; no Django here.

A component's state comes from its monitors' and heartbeats' statuses; its 90-day bar from the monitors'
daily uptime; the page's banner from its components; maintenance from the windows of their services.
"""

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

OPERATIONAL, DEGRADED, OUTAGE, MAINTENANCE, UNKNOWN = (
    "operational",
    "degraded",
    "outage",
    "maintenance",
    "unknown",
)
LABELS = {
    OPERATIONAL: "Operational",
    DEGRADED: "Degraded",
    OUTAGE: "Outage",
    MAINTENANCE: "Under maintenance",
    UNKNOWN: "No data yet",
}
BANNERS = {
    OPERATIONAL: "All systems operational",
    DEGRADED: "Some systems are not working as they should",
    OUTAGE: "Some systems are down",
    MAINTENANCE: "Scheduled maintenance in progress",
    UNKNOWN: "No data yet",
}
# Monitor and heartbeat statuses: those that count as working, failing, or not at all.
GOOD = {"up", "started"}
BAD = {"down", "unreachable"}
IGNORED = {"paused"}
PERIODS = {"daily": 1, "weekly": 7}


def component_state(statuses: Iterable[str], in_maintenance: bool = False) -> str:
    """Return the state of a component whose monitors and heartbeats have `statuses`."""
    counted = [s for s in statuses if s not in IGNORED]
    if in_maintenance:
        return MAINTENANCE
    bad = sum(1 for s in counted if s in BAD)
    good = sum(1 for s in counted if s in GOOD)
    if bad and not good:
        return OUTAGE
    if bad:
        return DEGRADED
    if good:
        return OPERATIONAL
    return UNKNOWN


def overall_state(states: Iterable[str]) -> str:
    """Return the page's banner state: the worst of its components' (no data counts for nothing)."""
    states = set(states)
    for state in (OUTAGE, DEGRADED, MAINTENANCE, OPERATIONAL):
        if state in states:
            return state
    return UNKNOWN


def combine_days(series: Sequence[Sequence[tuple[date, float | None]]]) -> list[tuple[date, float | None]]:
    """Return the mean uptime per day of several monitors' (day, percent or None) lists, in day order."""
    totals: dict[date, list[float]] = {}
    for days in series:
        for day, percent in days:
            bucket = totals.setdefault(day, [])
            if percent is not None:
                bucket.append(float(percent))
    return [(day, sum(v) / len(v) if v else None) for day, v in sorted(totals.items())]


def overall_uptime(days: Sequence[tuple[date, float | None]]) -> float | None:
    """Return the mean of the days that have data, or None."""
    values = [p for _, p in days if p is not None]
    return sum(values) / len(values) if values else None


def day_class(percent: float | None) -> str:
    """Return the CSS class of one day of an uptime bar."""
    if percent is None:
        return "day-none"
    if percent >= 99.9:
        return "day-ok"
    if percent >= 95:
        return "day-degraded"
    return "day-outage"


def bar(days: Sequence[tuple[date, float | None]], width: int = 4, gap: int = 1) -> list[dict]:
    """Return the rectangles of an SVG uptime bar: x, width, class and a tooltip per day."""
    rects = []
    for i, (day, percent) in enumerate(days):
        tip = f"{day.isoformat()}: " + ("no data" if percent is None else f"{percent:.2f}% up")
        rects.append({"x": i * (width + gap), "width": width, "cls": day_class(percent), "tip": tip})
    return rects


def window_ahead(
    now: datetime,
    starts_at: datetime,
    ends_at: datetime,
    recurrence: str = "none",
    until: datetime | None = None,
    tz_name: str = "UTC",
    horizon: timedelta = timedelta(days=14),
) -> tuple[datetime, datetime] | None:
    """Return (start, end) of a maintenance window's occurrence now or next, if it begins within `horizon`."""
    duration = ends_at - starts_at
    if duration <= timedelta(0):
        return None
    last = now + horizon
    if recurrence not in PERIODS:
        return (starts_at, ends_at) if ends_at > now and starts_at <= last else None
    period = PERIODS[recurrence]
    tz = ZoneInfo(tz_name)
    first = starts_at.astimezone(tz)
    wall = first.time().replace(tzinfo=None)
    # Start far enough back to catch an occurrence that is still running.
    back = duration.days + period + 1
    day = max(first.date(), (now.astimezone(tz) - timedelta(days=back)).date())
    while True:
        offset = (day - first.date()).days
        if offset % period == 0:
            start = _local(day, wall, tz)
            if start > last or (until is not None and start > until):
                return None
            if start + duration > now and start >= starts_at:
                return start, start + duration
        day += timedelta(days=1)


def _local(day: date, wall: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, wall).replace(tzinfo=tz)
