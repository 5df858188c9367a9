"""Cron lines in a time zone (keepwell.core.cron): pure functions, any clock, no database."""

from datetime import UTC, datetime, timedelta

import pytest

from keepwell.core import cron

BERLIN = "Europe/Berlin"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def fires(line, tz, after, count):
    """Return the next `count` fire times of `line` after `after`, in UTC."""
    times = []
    for _ in range(count):
        after = cron.next_fire(line, tz, after)
        times.append(after)
    return times


# --- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, tidied",
    [
        ("0 3 * * *", "0 3 * * *"),
        ("  0   3 * *  * ", "0 3 * * *"),
        ("\t*/15 * * * 1-5\n", "*/15 * * * 1-5"),
        ("0 0 1,15 * *", "0 0 1,15 * *"),
        ("0 9 * jan-mar mon", "0 9 * jan-mar mon"),
    ],
)
def test_it_tidies_a_valid_line(line, tidied):
    assert cron.validate_cron(line) == tidied
    assert cron.validate_cron(line, BERLIN) == tidied


@pytest.mark.parametrize(
    "line, words",
    [
        ("", "must be a cron line such as '0 3 \\* \\* \\*'"),
        ("   ", "must be a cron line"),
        (None, "must be a cron line"),
        (42, "must be a cron line"),
        ("0 3 * *", "five fields .*not 4"),
        ("0 3 * * * *", "five fields .*not 6"),
        ("61 3 * * *", "not a valid cron line"),
        ("0 24 * * *", "not a valid cron line"),
        ("0 3 32 * *", "not a valid cron line"),
        ("0 3 * 13 *", "not a valid cron line"),
        ("0 3 * * 8", "not a valid cron line"),
        ("*/0 * * * *", "not a valid cron line"),
        ("a b c d e", "not a valid cron line"),
        ("0 0 30 2 *", "not a valid cron line \\(failed to find next date\\)"),  # 30 February never fires
    ],
)
def test_it_refuses_invalid_fields_saying_why(line, words):
    with pytest.raises(ValueError, match=f"^schedule .*{words}"):
        cron.validate_cron(line)


def test_it_names_the_field_and_uses_the_callers_noun():
    with pytest.raises(ValueError, match="^drill_schedule 'a b c d e' is not a valid cron line"):
        cron.validate_cron("a b c d e", field="drill_schedule")
    with pytest.raises(ValueError, match="^schedule 'a b c d e' is not a valid cron expression"):
        cron.validate_cron("a b c d e", noun="cron expression")
    with pytest.raises(ValueError, match="^schedule must be a cron expression such as"):
        cron.validate_cron("", noun="cron expression")


def test_it_refuses_a_nul_character():
    with pytest.raises(ValueError, match="at most 100 characters"):
        cron.validate_cron("0 3 \x00 * *")
    with pytest.raises(ValueError, match="at most 100 characters"):
        cron.validate_cron("0 3 * * *\x00")


def test_it_refuses_a_line_too_long_after_tidying():
    longest = "0 3 * * " + ",".join(["1"] * 46)  # 99 characters
    assert len(longest) <= cron.MAX_CRON
    assert cron.validate_cron(longest) == longest
    with pytest.raises(ValueError, match="at most 100 characters"):
        cron.validate_cron("1," * 200 + "1 * * * *")
    # Spaces are tidied before the length is counted.
    assert cron.validate_cron("0" + " " * 200 + "3 * * *") == "0 3 * * *"


def test_it_checks_the_time_zone_first():
    with pytest.raises(ValueError, match="not a known time zone"):
        cron.validate_cron("0 3 * * *", "Mars/Olympus")


# --- time zones -------------------------------------------------------------------------------------


def test_it_finds_known_time_zones():
    assert cron.zone("UTC").key == "UTC"
    assert cron.zone(BERLIN).key == BERLIN


@pytest.mark.parametrize(
    "tz, words",
    [
        ("Mars/Olympus", "not a known time zone"),
        ("../../etc/passwd", "not a known time zone"),
        ("/etc/localtime", "not a known time zone"),
        ("", "must be a name"),
        ("UTC\x00", "must be a name"),
        ("x" * 65, "must be a name"),
        (None, "must be a name"),
        (5, "must be a name"),
    ],
)
def test_it_refuses_unknown_or_hostile_time_zones(tz, words):
    with pytest.raises(ValueError, match=words) as info:
        cron.zone(tz)
    assert "time zone" in str(info.value)


def test_fire_times_refuse_a_bad_zone():
    with pytest.raises(ValueError, match="time zone"):
        cron.next_fire("0 3 * * *", "Nowhere/Land", utc(2026, 1, 1))
    with pytest.raises(ValueError, match="time zone"):
        cron.previous_fire("0 3 * * *", "Nowhere/Land", utc(2026, 1, 1))


# --- fire times -------------------------------------------------------------------------------------


def test_the_next_fire_is_strictly_after_the_given_time():
    t = utc(2026, 3, 10, 12, 0)
    assert cron.next_fire("0 12 * * *", "UTC", t) == t + timedelta(days=1)
    assert cron.next_fire("30 12 * * *", "UTC", t) == t + timedelta(minutes=30)
    assert cron.next_fire("* * * * *", "UTC", t + timedelta(seconds=5)) == t + timedelta(minutes=1)


def test_the_previous_fire_is_at_or_before_the_given_time():
    t = utc(2026, 3, 10, 12, 0)
    assert cron.previous_fire("0 12 * * *", "UTC", t) == t
    assert cron.previous_fire("0 12 * * *", "UTC", t - timedelta(seconds=1)) == t - timedelta(days=1)
    assert cron.previous_fire("30 11 * * *", "UTC", t) == t - timedelta(minutes=30)


def test_fire_times_are_in_utc_whatever_the_zone_of_the_given_time():
    t = datetime(2026, 1, 10, 13, 0, tzinfo=cron.zone(BERLIN))  # 12:00 UTC
    fire = cron.next_fire("0 3 * * *", BERLIN, t)
    assert fire == utc(2026, 1, 11, 2, 0) and fire.tzinfo is UTC
    assert cron.previous_fire("0 3 * * *", BERLIN, t).tzinfo is UTC


def test_a_line_that_never_fires_is_never_due_nor_late():
    # 30 February: refused by validate_cron, but a stored one must not crash the clock.
    assert cron.next_fire("0 0 30 2 *", "UTC", utc(2026, 3, 10)) == cron.NEVER
    assert cron.next_fire("0 0 31 4 *", BERLIN, utc(2026, 3, 10)) == cron.NEVER
    assert cron.previous_fire("0 0 30 2 *", "UTC", utc(2026, 3, 10)) is None


def test_a_malformed_stored_line_never_fires_rather_than_crashing():
    assert cron.next_fire("61 3 * * *", "UTC", utc(2026, 3, 10)) == cron.NEVER
    assert cron.previous_fire("61 3 * * *", "UTC", utc(2026, 3, 10)) is None


# --- daylight saving time in Europe/Berlin ----------------------------------------------------------


def test_a_daily_line_keeps_its_local_time_across_the_spring_change():
    # Berlin moves to summer time on 2026-03-29 (02:00 CET -> 03:00 CEST): 03:00 local is 02:00 UTC, then 01:00.
    assert fires("0 3 * * *", BERLIN, utc(2026, 3, 27, 12), 3) == [
        utc(2026, 3, 28, 2, 0),
        utc(2026, 3, 29, 1, 0),
        utc(2026, 3, 30, 1, 0),
    ]


def test_a_daily_line_keeps_its_local_time_across_the_autumn_change():
    # Berlin moves back to winter time on 2026-10-25 (03:00 CEST -> 02:00 CET): 03:00 local is 01:00 UTC, then 02:00.
    assert fires("0 3 * * *", BERLIN, utc(2026, 10, 23, 12), 3) == [
        utc(2026, 10, 24, 1, 0),
        utc(2026, 10, 25, 2, 0),
        utc(2026, 10, 26, 2, 0),
    ]


def test_a_time_skipped_in_spring_still_fires_once_at_the_end_of_the_gap():
    # 02:30 does not exist on 2026-03-29 in Berlin: the run happens at 03:00 CEST (01:00 UTC), not never.
    assert fires("30 2 * * *", BERLIN, utc(2026, 3, 28, 12), 3) == [
        utc(2026, 3, 29, 1, 0),
        utc(2026, 3, 30, 0, 30),
        utc(2026, 3, 31, 0, 30),
    ]
    assert cron.previous_fire("30 2 * * *", BERLIN, utc(2026, 3, 29, 12)) == utc(2026, 3, 29, 1, 0)


def test_a_time_repeated_in_autumn_fires_at_both_instants():
    # 02:30 happens twice on 2026-10-25 in Berlin: at 00:30 UTC (CEST) and at 01:30 UTC (CET).
    assert fires("30 2 * * *", BERLIN, utc(2026, 10, 24, 12), 3) == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 30),
        utc(2026, 10, 26, 1, 30),
    ]


@pytest.mark.parametrize(
    "start, hours",
    [(utc(2026, 3, 28, 23), 23), (utc(2026, 10, 24, 22), 25)],  # local midnight to midnight
)
def test_an_hourly_line_fires_every_real_hour_across_a_change(start, hours):
    # A local day has 23 hours in spring and 25 in autumn: an hourly line fires once in each, no gap, no double.
    times = fires("0 * * * *", BERLIN, start - timedelta(seconds=1), hours + 1)
    assert times == [start + timedelta(hours=n) for n in range(hours + 1)]
    assert times[-1].astimezone(cron.zone(BERLIN)).hour == 0
