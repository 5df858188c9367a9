"""Downsampling arithmetic for check results: percentiles, hourly and daily buckets (no Django here).

Raw results are kept 7 days, hourly buckets 90 days and daily buckets for ever. A bucket keeps the number of
checks, the failures and the latency p50/p95; merging buckets weights each bucket's percentiles by its checks,
an approximation that keeps the database small and is exact for buckets made of raw latencies.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

RAW_DAYS = 7
HOURLY_DAYS = 90
PERIODS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass
class Bucket:
    checks: int = 0
    failures: int = 0
    latency_p50: int | None = None
    latency_p95: int | None = None

    @property
    def uptime(self) -> float | None:
        """Return the percentage of checks that passed, or None without checks."""
        if not self.checks:
            return None
        return round(100.0 * (self.checks - self.failures) / self.checks, 3)


def percentile(values: list[int], q: float) -> int | None:
    """Return the q-th percentile (0-100, nearest rank) of `values`, or None when there are none."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be between 0 and 100, not {q}")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(results: Iterable[tuple[bool, int | None]]) -> Bucket:
    """Return the bucket of raw results given as (ok, latency_ms) pairs."""
    checks = failures = 0
    latencies = []
    for ok, latency in results:
        checks += 1
        failures += 0 if ok else 1
        if latency is not None:
            latencies.append(latency)
    return Bucket(checks, failures, percentile(latencies, 50), percentile(latencies, 95))


def merge(buckets: Iterable[Bucket]) -> Bucket:
    """Return one bucket for several: counts add up, percentiles are the check-weighted mean."""
    out = Bucket()
    weighted = {"latency_p50": [0, 0], "latency_p95": [0, 0]}
    for b in buckets:
        out.checks += b.checks
        out.failures += b.failures
        for name, acc in weighted.items():
            value = getattr(b, name)
            if value is not None and b.checks:
                acc[0] += value * b.checks
                acc[1] += b.checks
    for name, (total, weight) in weighted.items():
        setattr(out, name, round(total / weight) if weight else None)
    return out


def floor(moment: datetime, period: str) -> datetime:
    """Return the start (UTC) of the hour or day that holds `moment`."""
    moment = moment.astimezone(UTC)
    if period == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    if period == "day":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    raise ValueError(f"period must be 'hour' or 'day', not {period!r}")


def cutoffs(now: datetime) -> tuple[datetime, datetime]:
    """Return (raw_before, hourly_before): raw results older than the first become hourly buckets, hourly
    buckets older than the second become daily ones. Both are aligned so that only whole buckets fold."""
    raw_before = floor(now - timedelta(days=RAW_DAYS), "hour")
    hourly_before = floor(now - timedelta(days=HOURLY_DAYS), "day")
    return raw_before, hourly_before
