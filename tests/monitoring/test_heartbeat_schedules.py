"""Schedules under a controllable clock: every function takes `now`, no database, no Django."""

from datetime import UTC, datetime, timedelta

import pytest

from keepwell.core import cron
from keepwell.monitoring import schedules


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_a_period_heartbeat_is_expected_one_period_after_its_last_ping():
    last = utc(2030, 1, 1, 12, 0)
    assert schedules.next_expected("period", last_ping=last, period=3600) == utc(2030, 1, 1, 13, 0)


def test_it_goes_down_after_the_period_plus_the_grace():
    last = utc(2030, 1, 1, 12, 0)
    deadline = schedules.going_down_after(
        "up", kind="period", last_ping=last, last_start=None, period=3600, grace=600
    )
    assert deadline == utc(2030, 1, 1, 13, 10)
    assert not schedules.is_late(deadline, utc(2030, 1, 1, 13, 9, 59))
    assert schedules.is_late(deadline, utc(2030, 1, 1, 13, 10))


def test_a_cron_schedule_fires_in_its_own_time_zone():
    # 03:00 in Berlin is 02:00 UTC in winter.
    last = utc(2030, 1, 10, 2, 0, 5)
    fire = schedules.next_expected("cron", last_ping=last, schedule="0 3 * * *", tz="Europe/Berlin")
    assert fire == utc(2030, 1, 11, 2, 0)


def test_a_cron_schedule_follows_daylight_saving_time():
    # Berlin moves to summer time on 2030-03-31: 03:00 local is then 01:00 UTC.
    last = utc(2030, 3, 30, 2, 0, 5)
    fire = schedules.next_expected("cron", last_ping=last, schedule="0 3 * * *", tz="Europe/Berlin")
    assert fire == utc(2030, 3, 31, 1, 0)


def test_a_cron_heartbeat_goes_down_after_the_next_fire_plus_grace():
    last = utc(2030, 1, 10, 10, 0)
    deadline = schedules.going_down_after(
        "up", kind="cron", last_ping=last, last_start=None, grace=300, schedule="*/15 * * * *", tz="UTC"
    )
    assert deadline == utc(2030, 1, 10, 10, 20)


def test_a_started_run_goes_down_when_it_lasts_longer_than_the_grace():
    start = utc(2030, 1, 1, 3, 0)
    deadline = schedules.going_down_after(
        "started", kind="period", last_ping=utc(2030, 1, 1), last_start=start, period=86400, grace=1800
    )
    assert deadline == start + timedelta(minutes=30)


@pytest.mark.parametrize("status", ["new", "paused", "down"])
def test_new_paused_and_down_heartbeats_have_no_deadline(status):
    deadline = schedules.going_down_after(
        status, kind="period", last_ping=utc(2030, 1, 1), last_start=None, period=60, grace=60
    )
    assert deadline is None
    assert not schedules.is_late(deadline, utc(2099, 1, 1))


def test_a_cron_expression_that_never_fires_is_never_late():
    deadline = schedules.going_down_after(
        "up",
        kind="cron",
        last_ping=utc(2030, 1, 1),
        last_start=None,
        grace=60,
        schedule="0 0 30 2 *",
        tz="UTC",
    )
    assert deadline is None


def test_a_run_lasts_from_its_start_to_its_finish():
    assert schedules.run_duration(utc(2030, 1, 1, 3, 0), utc(2030, 1, 1, 3, 7, 30)) == timedelta(
        minutes=7, seconds=30
    )
    assert schedules.run_duration(None, utc(2030, 1, 1)) is None
    assert schedules.run_duration(utc(2030, 1, 2), utc(2030, 1, 1)) is None


@pytest.mark.parametrize("text,code", [("0", 0), ("1", 1), ("255", 255), ("007", 7)])
def test_it_reads_exit_statuses_from_0_to_255(text, code):
    assert schedules.parse_exit_status(text) == code


@pytest.mark.parametrize("text", ["256", "-1", "1e3", "", "abc", "9" * 10_000, "١", " 1", "0x1"])
def test_it_refuses_exit_statuses_out_of_range_or_malformed(text):
    with pytest.raises(ValueError, match="from 0 to 255"):
        schedules.parse_exit_status(text)


@pytest.mark.parametrize(
    "expression,message",
    [
        ("", "cron expression"),
        ("* * * *", "five fields"),
        ("* * * * * *", "five fields"),
        ("61 * * * *", "not a valid cron"),
        ("a b c d e", "not a valid cron"),
        ("*/0 * * * *", "not a valid cron"),
        ("* * * * \x00", "at most|not a valid"),
        ("1," * 200 + "1 * * * *", "at most"),
    ],
)
def test_it_explains_what_is_wrong_with_a_cron_expression(expression, message):
    with pytest.raises(ValueError, match=message):
        cron.validate_cron(expression, noun="cron expression")


def test_it_tidies_the_spaces_of_a_valid_cron_expression():
    assert cron.validate_cron("  0  3 * *   1-5 ", "Europe/Berlin", noun="cron expression") == "0 3 * * 1-5"


@pytest.mark.parametrize(
    "tz", ["Mars/Olympus", "", "../../etc/passwd", "UTC\x00", "x" * 1000, "/etc/localtime"]
)
def test_it_refuses_unknown_or_hostile_time_zones(tz):
    with pytest.raises(ValueError, match="time zone"):
        cron.zone(tz)


@pytest.mark.parametrize("seconds", [59, 0, -5, 365 * 86400 + 1, True, 1.5])
def test_it_refuses_periods_outside_a_minute_to_a_year(seconds):
    with pytest.raises(ValueError):
        schedules.validate_period("period", seconds)


@pytest.mark.parametrize(
    "header,limit",
    [
        (None, 100),
        ("10", 10),
        ("1000", 100),
        ("0", 0),
        ("-5", 100),
        ("lots", 100),
        ("9" * 500, 100),
        (" 20 ", 20),
    ],
)
def test_a_client_may_lower_but_never_raise_the_body_limit(header, limit):
    assert schedules.body_limit(header, 100) == limit
