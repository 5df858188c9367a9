"""The geometry of the monitor page's charts, without a database: latency buckets, gaps, failures, the 90-day bar."""

from datetime import UTC, date, datetime, timedelta

import pytest

from keepwell.monitoring.charts import latency_chart, nice_ceiling, percentile, uptime_bar, uptime_class

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _points(line):
    return [tuple(float(v) for v in p.split(",")) for p in line.split()]


def test_no_results_make_an_empty_chart():
    chart = latency_chart([], NOW)
    assert chart.empty and chart.lines == [] and chart.p50 is None


def test_results_outside_the_last_24_hours_are_left_out():
    chart = latency_chart(
        [(NOW - timedelta(hours=25), 100, True), (NOW + timedelta(minutes=1), 100, True)], NOW
    )
    assert chart.empty


def test_it_plots_the_median_of_each_span_and_scales_to_a_round_maximum():
    results = [(NOW - timedelta(minutes=m), 300 if m < 60 else 100, True) for m in range(1, 120)]
    chart = latency_chart(results, NOW, buckets=144)
    assert not chart.empty and len(chart.lines) == 1
    assert chart.grid[-1][1] == "500 ms"  # medians are 100..300; the axis ends at 500
    points = _points(chart.lines[0])
    assert len(points) == 12  # two hours in 10-minute spans
    assert all(chart.plot_bottom > y > 0 for _, y in points)
    assert (chart.p50, chart.p95, chart.maximum) == (100, 300, 300)


def test_a_gap_in_checking_breaks_the_line():
    early = [(NOW - timedelta(hours=20, minutes=m), 50, True) for m in range(0, 30, 5)]
    late = [(NOW - timedelta(minutes=m), 50, True) for m in range(1, 30, 5)]
    chart = latency_chart(early + late, NOW)
    assert len(chart.lines) == 2


def test_a_single_span_still_draws_a_visible_segment():
    chart = latency_chart([(NOW - timedelta(minutes=3), 80, True)], NOW)
    assert len(_points(chart.lines[0])) == 2


def test_failed_checks_mark_their_span_and_do_not_count_as_latency():
    results = [(NOW - timedelta(minutes=5), 9000, False), (NOW - timedelta(minutes=4), 40, True)]
    chart = latency_chart(results, NOW)
    assert len(chart.failures) == 1
    assert chart.maximum == 40
    only_failures = latency_chart([(NOW - timedelta(minutes=5), None, False)], NOW)
    assert not only_failures.empty and only_failures.lines == [] and len(only_failures.failures) == 1


def test_hour_ticks_fall_every_six_hours():
    chart = latency_chart([(NOW - timedelta(minutes=1), 10, True)], NOW)
    assert [label for _, label in chart.ticks] == ["18:00", "00:00", "06:00"]


@pytest.mark.parametrize(
    "value, ceiling", [(0, 10), (7, 10), (11, 20), (180, 200), (201, 500), (999, 1000), (1001, 2000)]
)
def test_the_axis_ends_at_a_round_number(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_percentiles_use_the_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5], 95) == 5
    assert percentile(list(range(1, 101)), 95) == 95


@pytest.mark.parametrize(
    "uptime, css",
    [
        (None, "day-none"),
        (100.0, "day-up"),
        (99.95, "day-up"),
        (99.5, "day-minor"),
        (97, "day-partial"),
        (12.5, "day-major"),
    ],
)
def test_each_day_gets_a_class_by_its_uptime(uptime, css):
    assert uptime_class(uptime) == css


def test_the_uptime_bar_labels_each_day_and_averages_the_known_ones():
    days = [(date(2026, 11, 1) + timedelta(days=i), None if i == 0 else 100.0 - i) for i in range(90)]
    bar = uptime_bar(days)
    assert len(bar.days) == 90 and bar.width == 90 * 8 - 2
    assert bar.days[0]["label"] == "2026-11-01: no data"
    assert bar.days[1]["label"] == "2026-11-02: 99.00 % up"
    assert bar.overall == pytest.approx(sum(100.0 - i for i in range(1, 90)) / 89)
    assert uptime_bar([]).overall is None
