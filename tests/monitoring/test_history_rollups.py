"""Downsampling arithmetic as pure functions (no database)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from keepwell.monitoring.rollups import Bucket, cutoffs, floor, merge, percentile, summarize


def test_percentiles_use_the_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile([7], 95) == 7
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_a_bucket_counts_checks_failures_and_latency():
    bucket = summarize([(True, 10), (True, 20), (False, None), (True, 30)])
    assert (bucket.checks, bucket.failures) == (4, 1)
    assert (bucket.latency_p50, bucket.latency_p95) == (20, 30)
    assert bucket.uptime == 75.0
    assert Bucket().uptime is None


def test_merging_adds_counts_and_weights_percentiles_by_checks():
    merged = merge([Bucket(30, 3, 100, 200), Bucket(10, 0, 200, 400), Bucket(0, 0, None, None)])
    assert (merged.checks, merged.failures) == (40, 3)
    assert merged.latency_p50 == 125 and merged.latency_p95 == 250
    assert merge([]).checks == 0 and merge([]).latency_p50 is None


def test_floor_aligns_to_utc_hours_and_days():
    moment = datetime(2030, 5, 6, 23, 30, 15, tzinfo=timezone(timedelta(hours=2)))
    assert floor(moment, "hour") == datetime(2030, 5, 6, 21, 0, tzinfo=UTC)
    assert floor(moment, "day") == datetime(2030, 5, 6, 0, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        floor(moment, "week")


def test_cutoffs_keep_seven_days_raw_and_ninety_days_hourly():
    raw_before, hourly_before = cutoffs(datetime(2030, 5, 10, 12, 45, tzinfo=UTC))
    assert raw_before == datetime(2030, 5, 3, 12, 0, tzinfo=UTC)
    assert hourly_before == datetime(2030, 2, 9, 0, 0, tzinfo=UTC)
