"""The prober's timing: each interval kept with a little jitter, late checks re-based, lag measured."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from keepwell.monitoring.prober import scheduler

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_the_next_check_is_one_interval_after_the_due_time_give_or_take_a_second():
    rng = random.Random(1)
    for _ in range(1000):
        started = T0 + timedelta(
            milliseconds=300
        )  # a little late: the interval still counts from the due time
        nxt = scheduler.next_check(T0, started, 60, rng)
        assert T0 + timedelta(seconds=59) <= nxt <= T0 + timedelta(seconds=61)


def test_jitter_is_two_percent_of_a_short_interval():
    rng = random.Random(2)
    offsets = [scheduler.jitter(20, rng) for _ in range(1000)]
    assert max(abs(o) for o in offsets) <= 0.4
    assert min(offsets) < -0.3 and max(offsets) > 0.3  # it really spreads


def test_jitter_never_exceeds_a_second_even_for_a_daily_check():
    rng = random.Random(3)
    assert max(abs(scheduler.jitter(86400, rng)) for _ in range(1000)) <= 1.0


def test_the_interval_does_not_drift_over_many_checks():
    rng = random.Random(4)
    due = T0
    for _ in range(1440):  # a day of one-minute checks, each started 200 ms late
        due = scheduler.next_check(due, due + timedelta(milliseconds=200), 60, rng)
    drift = (due - (T0 + timedelta(minutes=1440))).total_seconds()
    assert abs(drift) < 30  # jitter is a random walk around the schedule, the 200 ms lateness does not add up


def test_a_check_that_ran_late_reschedules_from_when_it_ran():
    started = T0 + timedelta(seconds=40)  # a backlog after a restart
    nxt = scheduler.next_check(T0, started, 60, random.Random(5))
    assert started + timedelta(seconds=59) <= nxt <= started + timedelta(seconds=61)


def test_a_burst_of_overdue_checks_spreads_out_on_the_next_round():
    rng = random.Random(6)
    # 600 checks all due at T0 and run at 100 a second: the next round is spread over the same six seconds.
    starts = [T0 + timedelta(seconds=i / 100) for i in range(600)]
    nexts = [scheduler.next_check(T0, s, 60, rng) for s in starts]
    span = (max(nexts) - min(nexts)).total_seconds()
    assert span > 4.5


def test_lag_is_how_late_a_check_started_and_never_negative():
    assert scheduler.lag_seconds(T0, T0 + timedelta(seconds=1.5)) == 1.5
    assert scheduler.lag_seconds(T0, T0 - timedelta(seconds=1)) == 0.0


def test_a_monitor_new_to_a_location_is_checked_within_ten_seconds():
    rng = random.Random(7)
    firsts = [scheduler.first_check(T0, 60, rng) for _ in range(500)]
    assert all(T0 <= f <= T0 + timedelta(seconds=10) for f in firsts)
    assert all(T0 <= scheduler.first_check(T0, 20, rng) <= T0 + timedelta(seconds=10) for _ in range(100))


def test_a_lease_outlives_the_check_by_its_timeout_and_a_margin():
    assert scheduler.lease_until(T0, 10) == T0 + timedelta(seconds=40)


def test_percentiles_use_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert scheduler.percentile(values, 50) == 50.0
    assert scheduler.percentile(values, 99) == 99.0
    assert scheduler.percentile(values, 100) == 100.0
    assert scheduler.percentile(values, 0) == 1.0
    assert scheduler.percentile([], 50) is None


def test_a_percentile_outside_zero_to_a_hundred_is_refused():
    with pytest.raises(ValueError, match="between 0 and 100"):
        scheduler.percentile([1.0], 101)


def test_lag_stats_count_checks_and_failures_and_keep_a_bounded_sample():
    stats = scheduler.LagStats(keep=3)
    for i in range(5):
        stats.add(i / 10, ok=i != 2)
    summary = stats.summary()
    assert (summary["checks"], summary["failures"]) == (5, 1)
    assert len(stats.lags) == 3
    assert summary["lag_max"] == 0.2
