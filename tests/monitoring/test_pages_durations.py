"""Durations typed into the monitoring forms ("5m", "1h 30m") and shown on its pages, without a database."""

import pytest

from keepwell.monitoring.durations import compact_duration, format_duration, parse_duration


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("20", 20),
        ("45s", 45),
        ("5m", 300),
        ("5 min", 300),
        ("1h 30m", 5400),
        ("1h30m", 5400),
        ("2 days", 172800),
        ("1w", 604800),
        ("1d, 2h", 93600),
        ("  1H  ", 3600),
    ],
)
def test_it_reads_durations_as_people_write_them(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "Enter a duration"),
        ("   ", "Enter a duration"),
        ("5 fortnights", "is not a unit"),
        ("1.5h", "is not a duration"),
        ("-5m", "is not a duration"),
        ("1h 1h", "appears twice"),
        ("five minutes", "is not a duration"),
        ("5m; rm -rf /", "is not a duration"),
        ("\x00", "is not a duration"),
        ("9" * 61, "too long"),
        ("999999999w", "more than a year"),
        ("1" + "0" * 40 + "s", "more than a year"),
    ],
)
def test_it_refuses_what_is_not_a_duration_with_a_clear_message(text, message):
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


def test_it_reads_huge_input_quickly_and_refuses_it():
    with pytest.raises(ValueError, match="too long"):
        parse_duration("1m " * 1_000_000)


@pytest.mark.parametrize("seconds", [0, 1, 20, 59, 60, 61, 3600, 5400, 86399, 86400, 90061, 365 * 86400])
def test_the_compact_form_reads_back_exactly(seconds):
    assert parse_duration(compact_duration(seconds)) == seconds


@pytest.mark.parametrize(
    "seconds, text",
    [
        (None, ""),
        (45, "45 s"),
        (60, "1 min"),
        (5400, "1 h 30 min"),
        (3605, "1 h"),
        (86400, "1 d"),
        (90000, "1 d 1 h"),
        (1209600, "2 w"),
    ],
)
def test_it_shows_durations_in_the_two_largest_units(seconds, text):
    assert format_duration(seconds) == text
