"""A monitor's history: daily uptime across raw results and rollups, and idempotent downsampling."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from keepwell.monitoring.history import daily_stats, daily_uptime, downsample, latency_percentiles
from keepwell.monitoring.models import CheckResult, Monitor, Rollup

NOW = datetime(2030, 6, 1, 12, 30, tzinfo=UTC)


@pytest.fixture
def monitor(service):
    return Monitor.objects.create(
        organization=service.organization, service=service, name="Shop", target="https://shop.example/"
    )


def add(monitor, at, ok=True, latency=100):
    CheckResult.objects.create(monitor=monitor, checked_at=at, ok=ok, latency_ms=latency)


def test_daily_uptime_covers_each_day_oldest_first_with_none_for_empty_days(monitor):
    add(monitor, NOW - timedelta(hours=1))
    add(monitor, NOW - timedelta(hours=2), ok=False)
    add(monitor, NOW - timedelta(days=2))
    days = daily_uptime(monitor, days=5, now=NOW)
    assert [d for d, _ in days] == [
        date(2030, 5, 28),
        date(2030, 5, 29),
        date(2030, 5, 30),
        date(2030, 5, 31),
        date(2030, 6, 1),
    ]
    assert [u for _, u in days] == [None, None, 100.0, None, 50.0]


def test_daily_uptime_counts_hourly_and_daily_rollups(monitor):
    Rollup.objects.create(
        monitor=monitor, period="hour", start=datetime(2030, 5, 20, 3, tzinfo=UTC), checks=60, failures=6
    )
    Rollup.objects.create(
        monitor=monitor, period="day", start=datetime(2030, 2, 1, tzinfo=UTC), checks=100, failures=1
    )
    days = dict(daily_uptime(monitor, days=130, now=NOW))
    assert days[date(2030, 5, 20)] == 90.0
    assert days[date(2030, 2, 1)] == 99.0
    assert len(days) == 130


def test_downsampling_folds_old_results_into_hours_and_old_hours_into_days(monitor):
    old_hour = datetime(2030, 5, 20, 3, tzinfo=UTC)
    for i in range(10):
        add(monitor, old_hour + timedelta(minutes=i * 5), ok=i != 0, latency=10 * (i + 1))
    recent = NOW - timedelta(days=1)
    add(monitor, recent)
    ancient = datetime(2030, 1, 5, 7, tzinfo=UTC)
    Rollup.objects.create(
        monitor=monitor, period="hour", start=ancient, checks=60, failures=0, latency_p50=50, latency_p95=90
    )
    Rollup.objects.create(
        monitor=monitor,
        period="hour",
        start=ancient + timedelta(hours=1),
        checks=60,
        failures=6,
        latency_p50=150,
        latency_p95=190,
    )
    before = dict(daily_uptime(monitor, days=200, now=NOW))

    counts = downsample(now=NOW)

    assert counts == {"results_folded": 10, "hours_folded": 2}
    assert list(CheckResult.objects.filter(monitor=monitor).values_list("checked_at", flat=True)) == [recent]
    hour = Rollup.objects.get(monitor=monitor, period="hour")
    assert (hour.start, hour.checks, hour.failures, hour.latency_p50, hour.latency_p95) == (
        old_hour,
        10,
        1,
        50,
        100,
    )
    day = Rollup.objects.get(monitor=monitor, period="day")
    assert (day.start, day.checks, day.failures, day.latency_p50) == (
        datetime(2030, 1, 5, tzinfo=UTC),
        120,
        6,
        100,
    )
    assert dict(daily_uptime(monitor, days=200, now=NOW)) == before, "downsampling keeps the uptime figures"


def test_downsampling_twice_changes_nothing_more(monitor):
    add(monitor, datetime(2030, 5, 20, 3, 1, tzinfo=UTC))
    downsample(now=NOW)
    first = list(Rollup.objects.values_list("period", "start", "checks", "failures"))
    assert downsample(now=NOW) == {"results_folded": 0, "hours_folded": 0}
    assert list(Rollup.objects.values_list("period", "start", "checks", "failures")) == first


def test_downsampling_merges_late_results_into_an_existing_hour(monitor):
    hour = datetime(2030, 5, 20, 3, tzinfo=UTC)
    add(monitor, hour + timedelta(minutes=1), latency=100)
    downsample(now=NOW)
    add(monitor, hour + timedelta(minutes=2), ok=False, latency=300)  # a remote prober's result, pushed late
    downsample(now=NOW)
    rollup = Rollup.objects.get(monitor=monitor, period="hour")
    assert (rollup.checks, rollup.failures, rollup.latency_p50) == (2, 1, 200)


def test_latency_percentiles_and_daily_stats(monitor):
    for latency in range(1, 101):
        add(monitor, NOW - timedelta(minutes=latency), latency=latency)
    figures = latency_percentiles(monitor, NOW - timedelta(days=1), now=NOW)
    assert figures == {"p50": 50, "p95": 95, "checks": 100, "uptime": 100.0}
    ((day, bucket),) = daily_stats(monitor, days=1, now=NOW)
    assert day == date(2030, 6, 1) and (bucket.checks, bucket.latency_p50, bucket.latency_p95) == (
        100,
        50,
        95,
    )


def test_history_of_one_monitor_leaves_out_the_others(monitor, service):
    other = Monitor.objects.create(
        organization=service.organization, service=service, name="Other", target="https://o.example/"
    )
    add(other, NOW - timedelta(hours=1), ok=False)
    assert daily_uptime(monitor, days=1, now=NOW) == [(date(2030, 6, 1), None)]


def test_the_hourly_job_downsamples(monitor):
    from keepwell.monitoring.monitor_tasks import downsample_monitor_results

    add(monitor, timezone.now() - timedelta(days=8))
    downsample_monitor_results()
    assert not CheckResult.objects.filter(monitor=monitor).exists()
    assert Rollup.objects.get(monitor=monitor, period="hour").checks == 1
