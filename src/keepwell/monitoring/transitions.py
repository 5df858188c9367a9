"""The monitor state machine: retries, location agreement, dependencies and flap damping (no Django here).

`decide` turns the latest evidence into a status; `flap` counts state changes in a sliding window. The
database side (state.py) gathers the evidence, stores the outcome and raises or resolves findings.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

PENDING, UP, DOWN, UNREACHABLE, PAUSED = "pending", "up", "down", "unreachable", "paused"
FLAP_WINDOW = timedelta(hours=1)
FLAP_LIMIT = 4  # more changes than this in FLAP_WINDOW and the monitor is flapping


def location_failing(recent_ok: list[bool], retries: int) -> bool:
    """Return True when the newest `retries` results of one location (newest first) all failed."""
    needed = max(1, retries)
    return len(recent_ok) >= needed and not any(recent_ok[:needed])


def decide(
    current: str,
    *,
    by_location: dict[str, list[bool]],
    retries: int,
    locations_required: int,
    parent_down: bool,
) -> str:
    """Return the monitor's new status from each location's recent results (newest first).

    It is down when at least `locations_required` locations each failed `retries` times in a row; up when
    the newest result anywhere passed and too few locations agree it is down; otherwise it keeps its status
    (a first failure of a monitor with retries leaves it up, or pending). A monitor that would be down while
    the one it depends on is down is unreachable instead.
    """
    failing = sum(location_failing(results, retries) for results in by_location.values())
    if failing >= max(1, locations_required):
        return UNREACHABLE if parent_down else DOWN
    if any(results[:1] == [True] for results in by_location.values()):
        return UP
    return current


@dataclass
class Flaps:
    count: int
    window_start: datetime | None
    flapping: bool


def flap(previous: Flaps, *, changed: bool, now: datetime) -> Flaps:
    """Return the flap counter after a check; `changed` says whether the status went between up and down.

    More than FLAP_LIMIT changes within one FLAP_WINDOW make the monitor flapping; it stays flapping until a
    whole window passes with at most FLAP_LIMIT changes.
    """
    count, start, flapping = previous.count, previous.window_start, previous.flapping
    if start is None or now - start > FLAP_WINDOW:
        if flapping and start is not None and count <= FLAP_LIMIT:
            flapping = False
        count, start = 0, (now if flapping or changed else None)
    if changed:
        count += 1
        start = start or now
    if count > FLAP_LIMIT:
        flapping = True
    return Flaps(count, start, flapping)
