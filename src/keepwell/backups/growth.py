"""Repository growth: say when a repository grows much faster than it usually does."""

from __future__ import annotations

from datetime import datetime
from statistics import median

MIN_SAMPLES = 4  # fewer runs than this say nothing about what is usual
MIN_BYTES = 64 << 20  # growth below this is never worth a finding


def _size(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


def growth_alert(
    samples: list[tuple[datetime, int]], *, factor: float = 4.0, min_bytes: int = MIN_BYTES
) -> str | None:
    """Return a sentence when the last run grew the repository far more than the median run, else None."""
    points = sorted((when, size) for when, size in samples if isinstance(size, int) and size >= 0)
    if len(points) < MIN_SAMPLES + 1:
        return None
    deltas = [max(b[1] - a[1], 0) for a, b in zip(points, points[1:], strict=False)]
    last, history = deltas[-1], deltas[:-1]
    usual = median(history)
    if last < min_bytes or last <= factor * max(usual, 1):
        return None
    times = f"{last / usual:.0f} times" if usual else "far more than"
    return (
        f"The repository grew by {_size(last)} in the last run, {times} the usual {_size(int(usual))} per run "
        f"(now {_size(points[-1][1])}). Deduplication is not working for some data: a database file backed up "
        "raw (instead of as a dump or through the SQLite online backup) or files rewritten in place with "
        "scattered changes defeat it. Check what changed, or exclude the file and add it as a database source."
    )
