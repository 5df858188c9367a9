"""The geometry of the monitor page's charts: the 24-hour latency line and the 90-day uptime bar.

Pure functions (no Django): they turn numbers into coordinates and CSS class names; the templates draw them
as inline SVG elements, styled by classes only (the Content-Security-Policy allows no style attributes).
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

WIDTH, HEIGHT = 720, 160
LEFT, BOTTOM, TOP = 44, 20, 8  # room for the axis labels


@dataclass
class LatencyChart:
    width: int = WIDTH
    height: int = HEIGHT
    lines: list[str] = field(default_factory=list)  # SVG polyline `points`, one per unbroken run of data
    failures: list[tuple[float, float]] = field(default_factory=list)  # (x, width) of buckets with a failure
    grid: list[tuple[float, str]] = field(default_factory=list)  # (y, label) of horizontal grid lines
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (x, label) of hour marks
    plot_left: int = LEFT
    plot_bottom: float = HEIGHT - BOTTOM
    empty: bool = True
    p50: int | None = None
    p95: int | None = None
    maximum: int | None = None


def nice_ceiling(value: float) -> int:
    """Return the smallest of 1, 2, 5 × 10^n that is at least `value` (at least 10)."""
    if value <= 10:
        return 10
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * exponent >= value:
            return int(step * exponent)
    return int(10 * exponent)  # pragma: no cover - the loop always returns


def percentile(values: list[int], p: float) -> int | None:
    """Return the p-th percentile (nearest rank) of `values`, or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_chart(
    results, now: datetime, hours: int = 24, buckets: int = 144, width: int = WIDTH, height: int = HEIGHT
) -> LatencyChart:
    """Return the chart of `results` ((checked_at, latency_ms or None, ok) tuples) over the last `hours`.

    Results are grouped into `buckets` equal spans; each span plots its median latency, and a span with any
    failed check is marked. Spans without a check break the line, so a gap in checking shows as a gap.
    """
    chart = LatencyChart(width=width, height=height, plot_bottom=height - BOTTOM)
    start = now - timedelta(hours=hours)
    span = (now - start) / buckets
    latencies: list[list[int]] = [[] for _ in range(buckets)]
    failed = [False] * buckets
    seen = [False] * buckets
    every = []
    for checked_at, latency, ok in results:
        if checked_at < start or checked_at > now:
            continue
        i = min(buckets - 1, int((checked_at - start) / span))
        seen[i] = True
        if not ok:
            failed[i] = True
        if latency is not None and ok:
            latencies[i].append(int(latency))
            every.append(int(latency))
    if not any(seen):
        return chart
    chart.empty = False
    chart.p50, chart.p95 = percentile(every, 50), percentile(every, 95)
    chart.maximum = max(every) if every else None
    medians = [percentile(values, 50) for values in latencies]
    top = nice_ceiling(max((m for m in medians if m is not None), default=0))
    plot_width = width - LEFT
    plot_height = chart.plot_bottom - TOP
    step = plot_width / buckets

    def x(i):
        return round(LEFT + (i + 0.5) * step, 1)

    def y(value):
        return round(chart.plot_bottom - value / top * plot_height, 1)

    run: list[str] = []
    for i, median in enumerate(medians):
        if median is None:
            if run:
                chart.lines.append(" ".join(run))
            run = []
            continue
        run.append(f"{x(i)},{y(median)}")
    if run:
        chart.lines.append(" ".join(run))
    # A single point draws nothing as a polyline: widen it into a short level segment.
    chart.lines = [
        line if " " in line else f"{float(line.split(',')[0]) - step / 2:.1f},{line.split(',')[1]} {line}"
        for line in chart.lines
    ]
    chart.failures = [(round(LEFT + i * step, 1), round(step, 1)) for i in range(buckets) if failed[i]]
    chart.grid = [(y(top * f), f"{int(top * f)} ms") for f in (0, 0.5, 1)]
    first_hour = (start + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    tick = first_hour
    while tick < now:
        if tick.hour % 6 == 0:
            offset = (tick - start) / (now - start)
            chart.ticks.append((round(LEFT + offset * plot_width, 1), f"{tick:%H:%M}"))
        tick += timedelta(hours=1)
    return chart


# Uptime of a day -> the class of its bar; the thresholds follow common status pages.
def uptime_class(uptime: float | None) -> str:
    """Return the CSS class of one day's bar (uptime in percent): no data, full, minor, partial or major outage."""
    if uptime is None:
        return "day-none"
    if uptime >= 99.95:
        return "day-up"
    if uptime >= 99:
        return "day-minor"
    if uptime >= 95:
        return "day-partial"
    return "day-major"


@dataclass
class UptimeBar:
    width: int
    height: int
    days: list[dict]
    overall: float | None  # the mean of the days that have data, in percent


def uptime_bar(days: list[tuple[date, float | None]], bar_width: int = 6, gap: int = 2, height: int = 28):
    """Return one bar per day of `days` ((date, uptime in percent or None), oldest first) with its label."""
    out = []
    for i, (day, uptime) in enumerate(days):
        label = f"{day:%Y-%m-%d}: " + ("no data" if uptime is None else f"{uptime:.2f} % up")
        out.append(
            {
                "x": i * (bar_width + gap),
                "date": day,
                "uptime": uptime,
                "label": label,
                "css": uptime_class(uptime),
            }
        )
    known = [u for _, u in days if u is not None]
    overall = sum(known) / len(known) if known else None
    width = max(0, len(days) * (bar_width + gap) - gap)
    return UptimeBar(width=width, height=height, days=out, overall=overall)
