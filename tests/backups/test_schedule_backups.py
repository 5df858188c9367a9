"""When a plan's jobs are due and when a backup is overdue: pure functions, any clock."""

from datetime import UTC, datetime, timedelta

import pytest

from keepwell.backups import schedule
from keepwell.core import cron

T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_it_tidies_a_valid_cron_line():
    assert cron.validate_cron("  0   3 * *  * ") == "0 3 * * *"


@pytest.mark.parametrize(
    "line, words",
    [
        ("", "must be a cron line"),
        ("0 3 * *", "five fields"),
        ("0 3 * * * *", "five fields"),
        ("61 3 * * *", "not a valid cron line"),
        ("a b c d e", "not a valid cron line"),
        ("0 3 * * *" + " " * 10 + "x" * 200, "at most"),
        ("0 3 \x00 * *", "at most"),
    ],
)
def test_it_refuses_malformed_cron_lines_saying_why(line, words):
    with pytest.raises(ValueError, match=words):
        cron.validate_cron(line, field="schedule")


def test_it_names_the_field_in_its_message():
    with pytest.raises(ValueError, match="^drill_schedule"):
        cron.validate_cron("nonsense", field="drill_schedule")


@pytest.mark.parametrize("tz", ["", "Mars/Olympus", "../../etc/passwd", "x" * 100, 5])
def test_it_refuses_unknown_time_zones(tz):
    with pytest.raises(ValueError, match="time zone"):
        cron.zone(tz)


def test_the_next_fire_is_strictly_after_the_given_time():
    assert cron.next_fire("0 12 * * *", "UTC", T) == T + timedelta(days=1)
    assert cron.next_fire("30 12 * * *", "UTC", T) == T + timedelta(minutes=30)


def test_the_next_fire_follows_the_time_zone():
    # 03:00 in Berlin is 02:00 UTC in March before the change to summer time.
    fire = cron.next_fire("0 3 * * *", "Europe/Berlin", T)
    assert fire == datetime(2026, 3, 11, 2, 0, tzinfo=UTC)


def test_a_line_that_never_fires_is_never_due_nor_late():
    assert cron.next_fire("0 0 30 2 *", "UTC", T) == cron.NEVER
    late = schedule.overdue_by(
        "0 0 30 2 *", "UTC", last_good=None, since=T, grace_minutes=0, now=T + timedelta(days=900)
    )
    assert late is None


def test_is_due():
    assert schedule.is_due(T, T)
    assert not schedule.is_due(T + timedelta(seconds=1), T)
    assert not schedule.is_due(None, T)


def test_a_backup_is_overdue_after_its_next_run_plus_grace():
    last = datetime(2026, 3, 10, 3, 0, 5, tzinfo=UTC)  # the 03:00 backup finished
    kwargs = {"last_good": last, "since": last - timedelta(days=9), "grace_minutes": 60}
    next_day_deadline = datetime(2026, 3, 11, 4, 0, tzinfo=UTC)
    assert schedule.overdue_by("0 3 * * *", "UTC", now=next_day_deadline, **kwargs) is None
    late = schedule.overdue_by("0 3 * * *", "UTC", now=next_day_deadline + timedelta(minutes=5), **kwargs)
    assert late == timedelta(minutes=5)


def test_a_plan_that_never_backed_up_is_overdue_from_its_creation():
    created = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    kwargs = {"last_good": None, "since": created, "grace_minutes": 30}
    assert (
        schedule.overdue_by("0 3 * * *", "UTC", now=datetime(2026, 3, 10, 3, 29, tzinfo=UTC), **kwargs)
        is None
    )
    assert schedule.overdue_by("0 3 * * *", "UTC", now=datetime(2026, 3, 10, 3, 31, tzinfo=UTC), **kwargs)


def test_a_restore_is_too_old_after_the_limit():
    assert not schedule.restore_too_old(T - timedelta(days=13), since=T, max_age_days=14, now=T)
    assert schedule.restore_too_old(T - timedelta(days=15), since=T, max_age_days=14, now=T)
    assert schedule.restore_too_old(None, since=T - timedelta(days=15), max_age_days=14, now=T)
    assert not schedule.restore_too_old(None, since=T - timedelta(days=999), max_age_days=0, now=T)


def test_ages_read_as_words():
    assert schedule.age_words(timedelta(seconds=1)) == "1 second"
    assert schedule.age_words(timedelta(minutes=3)) == "3 minutes"
    assert schedule.age_words(timedelta(hours=1, minutes=59)) == "1 hour"
    assert schedule.age_words(timedelta(days=2)) == "2 days"
    assert schedule.age_words(timedelta(seconds=-5)) == "0 seconds"
