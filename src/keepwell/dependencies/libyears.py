"""Libyears (the CHAOSS definition) and the per-service figures built on them. Pure, no Django.

The libyear of a dependency is the time between the release of the version in use and the release of the
latest version; a dependency on the latest version, or newer, counts zero.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta

DAYS_PER_YEAR = 365.25
STALE_AFTER = timedelta(days=2 * 365)  # "no release in two years"


def libyears(in_use_released: datetime | None, latest_released: datetime | None) -> float | None:
    """Return the years between the two release times, never negative; None when either is unknown."""
    if in_use_released is None or latest_released is None:
        return None
    seconds = (latest_released - in_use_released).total_seconds()
    return round(max(seconds, 0.0) / 86400 / DAYS_PER_YEAR, 3)


def total(values: Iterable[float | None]) -> float:
    """Return the sum of the known libyears."""
    return round(sum(v for v in values if v is not None), 3)


def median(values: Iterable[float | None]) -> float:
    """Return the median of the known libyears (0 when none is known)."""
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 3) if known else 0.0


def is_stale(last_release: datetime | None, now: datetime, after: timedelta = STALE_AFTER) -> bool:
    """Return True when the package has had no release in `after` (two years) before `now`."""
    return last_release is not None and now - last_release > after
