"""The geometry of the libyears trend plot. Pure (no Django): numbers in, SVG coordinates out.

The template draws it as inline SVG styled by classes only (the Content-Security-Policy allows no styles).
"""

from dataclasses import dataclass, field
from datetime import datetime

WIDTH, HEIGHT = 720, 180
LEFT, BOTTOM, TOP, RIGHT = 44, 22, 8, 8


@dataclass
class TrendChart:
    width: int = WIDTH
    height: int = HEIGHT
    line: str = ""  # SVG polyline points of total libyears
    dots: list[tuple[float, float, str]] = field(default_factory=list)  # (x, y, title)
    grid: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (x, label)
    plot_left: int = LEFT
    plot_bottom: float = HEIGHT - BOTTOM
    empty: bool = True


def nice_ceiling(value: float) -> float:
    """Return the smallest of 1, 2, 5 × 10^n that is at least `value` (at least 1)."""
    if value <= 1:
        return 1.0
    exponent = 10 ** len(str(int(value))) / 10
    for step in (1, 2, 5, 10):
        if step * exponent >= value:
            return float(step * exponent)
    return float(10 * exponent)


def trend_chart(points: list[tuple[datetime, float]], width: int = WIDTH, height: int = HEIGHT) -> TrendChart:
    """Return the chart of (scanned_at, total libyears) points, oldest first."""
    chart = TrendChart(width=width, height=height, plot_bottom=height - BOTTOM)
    if not points:
        return chart
    chart.empty = False
    top = nice_ceiling(max(v for _, v in points))
    t0, t1 = points[0][0], points[-1][0]
    span = (t1 - t0).total_seconds() or 1.0
    plot_w, plot_h = width - LEFT - RIGHT, height - BOTTOM - TOP

    def x(t):
        if len(points) == 1:
            return LEFT + plot_w / 2
        return round(LEFT + (t - t0).total_seconds() / span * plot_w, 1)

    def y(v):
        return round(TOP + plot_h - v / top * plot_h, 1)

    chart.line = " ".join(f"{x(t)},{y(v)}" for t, v in points)
    chart.dots = [(x(t), y(v), f"{t:%Y-%m-%d}: {v:.2f} libyears") for t, v in points]
    chart.grid = [(y(top * i / 4), f"{top * i / 4:g}") for i in range(5)]
    labels = [points[0][0], points[-1][0]] if len(points) > 1 else [points[0][0]]
    chart.ticks = [(x(t), f"{t:%Y-%m-%d}") for t in labels]
    return chart
