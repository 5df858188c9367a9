"""A heartbeat's past, replayed from its ping log: when it was down, and its uptime per UTC day. No Django.

The replay runs each ping through schedules.apply_ping, the rules a live ping follows, and lets a deadline
pass as heartbeats.mark_down does: a run on time keeps the heartbeat up, a late one leaves it down from its
deadline (expected time plus grace) until the ping, a missed one until the next success, a failure until the
next success. A day's uptime is the share of the time it was watched that it was up, so the status page draws
heartbeats and monitors with the same bar.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from keepwell.core import cron

from . import schedules

DOWN, UP, STARTED = "down", "up", "started"
UNWATCHED = {"new", "paused"}  # a heartbeat in these states waits for a ping and never goes down
_NO_FIRE = (CroniterBadDateError, CroniterBadCronError, ValueError)  # as in core.cron: no further fire


@dataclass
class Replay:
    """What the ping log tells: from when to when the heartbeat was watched, and its down spans in that time."""

    watched_from: datetime | None = None
    watched_until: datetime | None = None
    down: list[tuple[datetime, datetime]] = field(default_factory=list)


class FireTimes:
    """cron.next_fire for one replay, which asks in time order: it remembers its last answer (the pings of one
    run share it) and walks one croniter forward from there, several times cheaper than starting afresh."""

    WALK = 16  # fires to walk forward before starting afresh at the moment asked about

    def __init__(self):
        self.after: datetime | None = None
        self.fire: datetime | None = None
        self._fires = None  # a croniter standing at self.fire

    def __call__(self, schedule: str, tz: str, after: datetime) -> datetime:
        # No fire lies between self.after and self.fire: any moment in between has self.fire next.
        if self.after is not None and self.after <= after < self.fire:
            return self.fire
        if self._fires is not None and after >= self.fire:
            previous = self.fire
            for _ in range(self.WALK):
                try:
                    fire = self._fires.get_next(datetime).astimezone(UTC)
                except _NO_FIRE:
                    break
                if fire > after:
                    self.after, self.fire = previous, fire
                    return fire
                previous = fire
        self.after, self.fire = after, cron.next_fire(schedule, tz, after)
        self._fires = (
            None if self.fire == cron.NEVER else croniter(schedule, self.fire.astimezone(cron.zone(tz)))
        )
        return self.fire


def replay(
    pings: Iterable[tuple[datetime, str]],
    *,
    kind: str,
    period: int,
    grace: int,
    schedule: str,
    tz: str,
    status_now: str,
    now: datetime,
    since: datetime | None = None,
) -> Replay:
    """Return when a heartbeat was down, from its pings ((created, kind) oldest first, kind as stored).

    With `since`, pings before the last one that sets the state at `since` are skipped: a success, failure or
    start alone decides the state after it. A heartbeat that is new or paused now was watched only until its
    last ping (pauses leave no trace in the log).
    """
    pings = [(at, k) for at, k in pings if k != "log"]  # a log ping changes no state
    if since is not None:
        first = 0
        for i, (at, _) in enumerate(pings):
            if at > since:
                break
            first = i
        pings = pings[first:]
    out = Replay()
    if not pings:
        return out
    fires = FireTimes()
    status, last_ping, last_start, alert_after = "new", None, None, None
    down_since: datetime | None = None
    for at, ping_kind in pings:
        if status in (UP, STARTED) and alert_after is not None and alert_after <= at:
            status, alert_after, down_since = DOWN, None, alert_after  # the deadline passed: mark_down
        effect = schedules.apply_ping(
            ping_kind=ping_kind,
            exit_status=None,
            now=at,
            status=status,
            kind=kind,
            period=period,
            grace=grace,
            schedule=schedule,
            tz=tz,
            last_ping=last_ping,
            last_start=last_start,
            alert_after=alert_after,
            next_fire=fires,
        )
        if out.watched_from is None:
            out.watched_from = at
        if status == DOWN and effect.status != DOWN:
            out.down.append((down_since, at))
        elif status != DOWN and effect.status == DOWN:
            down_since = at
        status, last_ping, last_start, alert_after = (
            effect.status,
            effect.last_ping,
            effect.last_start,
            effect.alert_after,
        )
    until = now if status_now not in UNWATCHED else min(now, pings[-1][0])
    if status in (UP, STARTED) and alert_after is not None and alert_after < until:
        status, down_since = DOWN, alert_after
    if status == DOWN and down_since < until:
        out.down.append((down_since, until))
    out.watched_until = until
    return out


def daily_uptime(history: Replay, days: Sequence[date]) -> list[tuple[date, float | None]]:
    """Return (day, uptime %) for each UTC day of `days` (oldest first); None for days it was not watched."""
    if history.watched_from is None or not days:
        return [(day, None) for day in days]
    start = _midnight(days[0])
    watched = [0.0] * len(days)
    down = [0.0] * len(days)
    _spread(watched, start, history.watched_from, history.watched_until)
    for begin, end in history.down:
        _spread(down, start, begin, end)
    out = []
    for i, day in enumerate(days):
        if watched[i] <= 0:
            out.append((day, None))
        else:
            up = max(0.0, watched[i] - down[i])
            out.append((day, round(100.0 * up / watched[i], 3)))
    return out


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _spread(seconds: list[float], start: datetime, begin: datetime, end: datetime) -> None:
    """Add the seconds of [begin, end) to the day slots starting at `start`, one slot per day."""
    one_day = timedelta(days=1)
    begin, end = max(begin, start), min(end, start + one_day * len(seconds))
    if end <= begin:
        return
    i = (begin - start) // one_day
    while begin < end:
        slot_end = min(end, start + one_day * (i + 1))
        seconds[i] += (slot_end - begin).total_seconds()
        begin, i = slot_end, i + 1
