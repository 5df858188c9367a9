"""The geometry of the plan page's storage plot: the repository's size over time.

Pure functions (no Django): numbers in, coordinates and labels out; the template draws them as inline SVG
styled by classes only (the Content-Security-Policy allows no style attributes), as the monitoring app does.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime

WIDTH, HEIGHT = 720, 160
LEFT, BOTTOM, TOP, RIGHT = 64, 20, 8, 8
UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]


def human_bytes(n: int | float | None) -> str:
    """Return a size in bytes as a short text: 512 B, 1.5 MiB, 3.2 GiB."""
    if n is None:
        return "–"
    n = float(n)
    for unit in UNITS:
        if abs(n) < 1024 or unit == UNITS[-1]:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} {UNITS[-1]}"  # pragma: no cover - the loop always returns


def nice_ceiling(value: float) -> float:
    """Return the smallest of 1, 2, 5 × 10^n (bytes) that is at least `value` (at least 1)."""
    if value <= 1:
        return 1
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * exponent >= value:
            return step * exponent
    return 10 * exponent  # pragma: no cover


@dataclass
class GrowthChart:
    width: int = WIDTH
    height: int = HEIGHT
    points: str = ""  # the SVG polyline of the size over time
    dots: list[tuple[float, float, str]] = field(default_factory=list)  # (x, y, label) of each sample
    grid: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (x, label)
    plot_left: int = LEFT
    plot_bottom: float = HEIGHT - BOTTOM
    empty: bool = True
    first: int | None = None
    last: int | None = None


def growth_chart(
    samples: list[tuple[datetime, int]], width: int = WIDTH, height: int = HEIGHT
) -> GrowthChart:
    """Return the plot of `samples` ((time, bytes), any order) from the first sample to the last."""
    chart = GrowthChart(width=width, height=height, plot_bottom=height - BOTTOM)
    samples = sorted((at, max(0, int(size))) for at, size in samples if size is not None)
    if not samples:
        return chart
    chart.empty = False
    chart.first, chart.last = samples[0][1], samples[-1][1]
    start, end = samples[0][0], samples[-1][0]
    span = (end - start).total_seconds() or 1.0
    top = nice_ceiling(max(size for _, size in samples))
    plot_width = width - LEFT - RIGHT
    plot_height = chart.plot_bottom - TOP

    def x(at):
        if end == start:
            return round(LEFT + plot_width / 2, 1)
        return round(LEFT + (at - start).total_seconds() / span * plot_width, 1)

    def y(size):
        return round(chart.plot_bottom - size / top * plot_height, 1)

    coords = [(x(at), y(size), f"{at:%Y-%m-%d %H:%M}: {human_bytes(size)}") for at, size in samples]
    if len(coords) == 1:
        cx, cy, _ = coords[0]
        chart.points = f"{cx - 4},{cy} {cx + 4},{cy}"
    else:
        chart.points = " ".join(f"{cx},{cy}" for cx, cy, _ in coords)
    # Up to 200 dots keep the page light; the line shows every sample.
    step = max(1, len(coords) // 200)
    chart.dots = coords[::step]
    chart.grid = [(y(top * f), human_bytes(top * f)) for f in (0, 0.5, 1)]
    labels = 4 if end != start else 1
    # Over less than two days the dates repeat: show the times too.
    label = "%Y-%m-%d" if span >= 2 * 86400 else "%m-%d %H:%M"
    for i in range(labels):
        at = start + (end - start) * (i / max(1, labels - 1)) if labels > 1 else start
        chart.ticks.append((x(at), at.strftime(label)))
    return chart
