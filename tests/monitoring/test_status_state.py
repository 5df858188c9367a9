"""What a status page shows, worked out from plain values: no database, the clock passed in."""

from datetime import UTC, date, datetime, timedelta

from keepwell.monitoring.statuspage_state import (
    bar,
    combine_days,
    component_state,
    day_class,
    overall_state,
    overall_uptime,
    window_ahead,
)

NOW = datetime(2030, 3, 10, 12, 0, tzinfo=UTC)


def test_a_component_is_operational_when_everything_in_it_is_up():
    assert component_state(["up", "up", "started"]) == "operational"


def test_a_component_is_degraded_when_only_part_of_it_is_down():
    assert component_state(["up", "down"]) == "degraded"


def test_a_component_is_out_when_everything_counted_is_down_or_unreachable():
    assert component_state(["down", "unreachable", "paused"]) == "outage"


def test_a_component_without_checks_yet_says_so_and_paused_ones_do_not_count():
    assert component_state([]) == "unknown"
    assert component_state(["pending", "new", "paused"]) == "unknown"


def test_maintenance_wins_over_the_checks():
    assert component_state(["down"], in_maintenance=True) == "maintenance"


def test_the_page_shows_its_worst_component():
    assert overall_state(["operational", "degraded", "unknown"]) == "degraded"
    assert overall_state(["operational", "outage", "maintenance"]) == "outage"
    assert overall_state(["unknown"]) == "unknown"
    assert overall_state([]) == "unknown"


def test_it_averages_monitors_per_day_and_leaves_days_without_checks_empty():
    d1, d2 = date(2030, 3, 9), date(2030, 3, 10)
    days = combine_days([[(d1, 100.0), (d2, None)], [(d1, 90.0), (d2, None)]])
    assert days == [(d1, 95.0), (d2, None)]
    assert overall_uptime(days) == 95.0
    assert overall_uptime([(d2, None)]) is None


def test_each_day_of_the_bar_gets_a_class_and_a_tooltip():
    assert [day_class(p) for p in (None, 100, 99.95, 99.0, 50)] == [
        "day-none",
        "day-ok",
        "day-ok",
        "day-degraded",
        "day-outage",
    ]
    rects = bar([(date(2030, 3, 9), 99.0), (date(2030, 3, 10), None)])
    assert rects[1]["x"] == 5
    assert rects[0]["tip"] == "2030-03-09: 99.00% up" and rects[1]["tip"] == "2030-03-10: no data"


def test_a_one_off_window_shows_while_active_and_when_it_begins_within_two_weeks():
    hour = timedelta(hours=1)
    assert window_ahead(NOW, NOW - hour, NOW + hour) == (NOW - hour, NOW + hour)
    assert window_ahead(NOW, NOW + timedelta(days=3), NOW + timedelta(days=3) + hour)
    assert window_ahead(NOW, NOW + timedelta(days=30), NOW + timedelta(days=30) + hour) is None
    assert window_ahead(NOW, NOW - 2 * hour, NOW - hour) is None, "a window that ended is not shown"


def test_a_weekly_window_shows_its_next_occurrence():
    first = datetime(2030, 1, 1, 22, 0, tzinfo=UTC)  # a Tuesday
    start, end = window_ahead(NOW, first, first + timedelta(hours=2), "weekly", None, "UTC")
    assert start == datetime(2030, 3, 12, 22, 0, tzinfo=UTC) and end - start == timedelta(hours=2)


def test_a_daily_window_running_now_is_shown_as_running_and_one_past_its_end_date_is_not():
    first = datetime(2030, 1, 1, 11, 0, tzinfo=UTC)
    start, _ = window_ahead(NOW, first, first + timedelta(hours=2), "daily", None, "UTC")
    assert start == datetime(2030, 3, 10, 11, 0, tzinfo=UTC)
    assert (
        window_ahead(NOW, first, first + timedelta(hours=2), "daily", datetime(2030, 2, 1, tzinfo=UTC))
        is None
    )


def test_a_daily_window_keeps_its_wall_clock_time_across_daylight_saving():
    first = datetime(2030, 3, 1, 2, 0, tzinfo=UTC)  # 03:00 in Paris in winter
    now = datetime(2030, 4, 10, 0, 0, tzinfo=UTC)
    start, _ = window_ahead(now, first, first + timedelta(hours=1), "daily", None, "Europe/Paris")
    assert start == datetime(2030, 4, 10, 1, 0, tzinfo=UTC)  # still 03:00 in Paris, now summer time
