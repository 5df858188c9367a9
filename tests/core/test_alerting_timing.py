"""Quiet hours, maintenance windows and backoff: pure time arithmetic, no database."""

from datetime import UTC, datetime, time, timedelta

import pytest

from keepwell.core.alerting import messages, timing


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_it_is_not_quiet_without_quiet_hours():
    assert timing.quiet_until(utc(2026, 1, 1, 23), None, None, "UTC") is None
    assert timing.quiet_until(utc(2026, 1, 1, 23), time(8), time(8), "UTC") is None


def test_it_ends_same_day_quiet_hours_at_their_end():
    assert timing.quiet_until(utc(2026, 1, 1, 13), time(12), time(14), "UTC") == utc(2026, 1, 1, 14)
    assert timing.quiet_until(utc(2026, 1, 1, 14), time(12), time(14), "UTC") is None
    assert timing.quiet_until(utc(2026, 1, 1, 11, 59), time(12), time(14), "UTC") is None


def test_it_carries_quiet_hours_across_midnight():
    start, end = time(22), time(7)
    assert timing.quiet_until(utc(2026, 1, 1, 23), start, end, "UTC") == utc(2026, 1, 2, 7)
    assert timing.quiet_until(utc(2026, 1, 2, 3), start, end, "UTC") == utc(2026, 1, 2, 7)
    assert timing.quiet_until(utc(2026, 1, 2, 7), start, end, "UTC") is None
    assert timing.quiet_until(utc(2026, 1, 2, 21, 59), start, end, "UTC") is None


def test_it_reads_quiet_hours_in_the_rules_time_zone():
    # 22:30 UTC is 23:30 in Paris in winter: quiet until 07:00 Paris = 06:00 UTC.
    assert timing.quiet_until(utc(2026, 1, 1, 22, 30), time(23), time(7), "Europe/Paris") == utc(
        2026, 1, 2, 6
    )
    # 22:30 UTC is 00:30 in Paris in summer: quiet until 07:00 Paris = 05:00 UTC.
    assert timing.quiet_until(utc(2026, 7, 1, 22, 30), time(23), time(7), "Europe/Paris") == utc(
        2026, 7, 2, 5
    )


def test_it_ends_quiet_hours_at_local_time_on_a_daylight_saving_night():
    # Europe/Berlin springs forward on 2026-03-29 at 02:00; the night is one hour shorter.
    start, end = time(22), time(7)
    assert timing.quiet_until(utc(2026, 3, 28, 22), start, end, "Europe/Berlin") == utc(2026, 3, 29, 5)
    # and falls back on 2026-10-25: 07:00 local is 06:00 UTC again.
    assert timing.quiet_until(utc(2026, 10, 24, 21), start, end, "Europe/Berlin") == utc(2026, 10, 25, 6)


def test_it_moves_a_quiet_end_inside_a_skipped_hour_forward():
    # 02:30 does not exist in Berlin on 2026-03-29: the quiet hours end when the clock shows 03:30.
    until = timing.quiet_until(utc(2026, 3, 28, 23), time(23), time(2, 30), "Europe/Berlin")
    assert until == utc(2026, 3, 29, 1, 30)


def test_it_refuses_an_unknown_time_zone():
    with pytest.raises(ValueError, match="not a known time zone"):
        timing.quiet_until(utc(2026, 1, 1), time(1), time(2), "Mars/Olympus")


def test_it_finds_a_one_off_window():
    start, end = utc(2026, 5, 1, 10), utc(2026, 5, 1, 12)
    assert timing.window_occurrence(utc(2026, 5, 1, 11), start, end) == (start, end)
    assert timing.window_occurrence(utc(2026, 5, 1, 12), start, end) is None
    assert timing.window_occurrence(utc(2026, 5, 2, 11), start, end) is None


def test_it_repeats_a_daily_window_across_midnight():
    start, end = utc(2026, 5, 1, 23), utc(2026, 5, 2, 1)
    occ = timing.window_occurrence(utc(2026, 5, 10, 0, 30), start, end, "daily")
    assert occ == (utc(2026, 5, 9, 23), utc(2026, 5, 10, 1))
    assert timing.window_occurrence(utc(2026, 5, 10, 1, 30), start, end, "daily") is None
    assert timing.window_occurrence(utc(2026, 4, 30, 23, 30), start, end, "daily") is None


def test_it_repeats_a_weekly_window_on_its_weekday_only():
    start, end = utc(2026, 5, 2, 6), utc(2026, 5, 2, 8)  # a Saturday
    assert timing.window_occurrence(utc(2026, 5, 16, 7), start, end, "weekly") == (
        utc(2026, 5, 16, 6),
        utc(2026, 5, 16, 8),
    )
    assert timing.window_occurrence(utc(2026, 5, 17, 7), start, end, "weekly") is None


def test_it_stops_a_recurring_window_after_until():
    start, end = utc(2026, 5, 1, 6), utc(2026, 5, 1, 8)
    assert timing.window_occurrence(utc(2026, 5, 5, 7), start, end, "daily", until=utc(2026, 5, 5, 23))
    assert (
        timing.window_occurrence(utc(2026, 5, 6, 7), start, end, "daily", until=utc(2026, 5, 5, 23)) is None
    )


def test_it_keeps_a_recurring_window_at_local_time_across_daylight_saving():
    # 03:00-04:00 Berlin time every day; in winter that is 02:00 UTC, in summer 01:00 UTC.
    start, end = utc(2026, 3, 1, 2), utc(2026, 3, 1, 3)
    summer = timing.window_occurrence(utc(2026, 4, 1, 1, 30), start, end, "daily", tz_name="Europe/Berlin")
    assert summer == (utc(2026, 4, 1, 1), utc(2026, 4, 1, 2))
    assert (
        timing.window_occurrence(utc(2026, 4, 1, 2, 30), start, end, "daily", tz_name="Europe/Berlin") is None
    )


def test_it_backs_off_exponentially_up_to_an_hour():
    assert [timing.retry_delay(n).total_seconds() for n in range(1, 9)] == [
        60, 120, 240, 480, 960, 1920, 3600, 3600,
    ]  # fmt: skip


def test_it_counts_reminder_slots_from_the_episode_start():
    opened = utc(2026, 1, 1)
    assert timing.reminder_slot(opened + timedelta(minutes=59), opened, 3600) == 0
    assert timing.reminder_slot(opened + timedelta(minutes=61), opened, 3600) == 1
    assert timing.reminder_slot(opened + timedelta(hours=5), opened, 3600) == 5


def _f(severity, title="Down", service="shop"):
    return {"severity": severity, "title": title, "service": service, "source": "monitoring", "state": "open"}


def test_it_summarizes_a_burst_in_the_subject():
    burst = [_f("critical"), _f("warning"), _f("critical")]
    assert messages.subject("opened", "Acme", burst) == "3 new findings in Acme: 2 critical, 1 warning"
    assert messages.subject("resolved", "Acme", burst) == "3 findings resolved in Acme"


def test_it_names_a_single_finding_in_the_subject():
    assert messages.subject("opened", "Acme", [_f("critical", "Shop is down")]) == (
        "New critical finding in Acme / shop: Shop is down"
    )


def test_it_lists_at_most_twenty_findings_in_a_body():
    text = messages.body("opened", "Acme", [_f("info", f"t{i}") for i in range(25)])
    assert "t19" in text and "t20" not in text
    assert "... and 5 more" in text


def test_every_event_has_a_description():
    assert set(messages.EVENTS) >= {
        "opened",
        "reopened",
        "escalated",
        "resolved",
        "renotify",
        "unacknowledged",
    }
    assert all(v.endswith(".") for v in messages.EVENTS.values())
