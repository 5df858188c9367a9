"""When a monitor is checked next, and how late a check started. Pure: no Django, no I/O."""

import math
import random
from datetime import datetime, timedelta

# Jitter keeps monitors created together from being checked together for ever: up to ±2 % of the interval,
# and never more than a second, so a 60 s monitor is checked every 59-61 s.
JITTER_FRACTION = 0.02
MAX_JITTER = 1.0
# A check that started more than this late (a backlog, a prober that was down) re-bases its schedule on the
# time it really ran, so a burst of overdue monitors spreads out instead of coming back as a burst.
REBASE_AFTER = 1.0
# How long a claimed check stays leased past its due time and timeout: a prober that dies loses its
# leases after this, and another prober takes the checks over.
LEASE_MARGIN = 30.0
# A monitor first seen at a new location is checked within this many seconds (spread, not all at once).
FIRST_CHECK_SPREAD = 10.0


def jitter(interval: float, rng: random.Random | None = None) -> float:
    """Return a random offset in seconds for a check of `interval`, small next to the interval."""
    span = min(interval * JITTER_FRACTION, MAX_JITTER)
    return (rng or random).uniform(-span, span)


def lag_seconds(due: datetime, started: datetime) -> float:
    """Return how many seconds after its due time a check started (0 when it started early)."""
    return max((started - due).total_seconds(), 0.0)


def next_check(
    due: datetime, started: datetime, interval: float, rng: random.Random | None = None
) -> datetime:
    """Return when to check again: an interval after the due time, or after the start when it ran late."""
    base = due if lag_seconds(due, started) <= REBASE_AFTER else started
    return base + timedelta(seconds=interval + jitter(interval, rng))


def first_check(now: datetime, interval: float, rng: random.Random | None = None) -> datetime:
    """Return when a monitor new to a location is first checked there: soon, spread over a few seconds."""
    return now + timedelta(seconds=(rng or random).uniform(0, min(interval, FIRST_CHECK_SPREAD)))


def lease_until(latest_due: datetime, timeout: float) -> datetime:
    """Return when a lease on checks due by `latest_due` (each at most `timeout` long) runs out."""
    return latest_due + timedelta(seconds=timeout + LEASE_MARGIN)


def percentile(values: list[float], p: float) -> float | None:
    """Return the p-th percentile (0-100, nearest rank) of `values`, or None when there are none."""
    if not values:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {p}")
    ordered = sorted(values)
    rank = max(math.ceil(p / 100 * len(ordered)), 1)
    return ordered[rank - 1]


class LagStats:
    """Count checks and keep their scheduling lag, for the log line and the benchmark."""

    def __init__(self, keep: int = 1_000_000):
        self.keep = keep
        self.checks = 0
        self.failures = 0
        self.lags: list[float] = []

    def add(self, lag: float, ok: bool) -> None:
        self.checks += 1
        self.failures += 0 if ok else 1
        if len(self.lags) < self.keep:
            self.lags.append(lag)

    def summary(self) -> dict:
        return {
            "checks": self.checks,
            "failures": self.failures,
            "lag_p50": percentile(self.lags, 50),
            "lag_p99": percentile(self.lags, 99),
            "lag_max": max(self.lags) if self.lags else None,
        }
