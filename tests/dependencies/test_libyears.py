"""Libyears, the CHAOSS definition, and the per-service figures (pure)."""

from datetime import UTC, datetime, timedelta

from keepwell.dependencies import libyears as ly

T0 = datetime(2020, 1, 1, tzinfo=UTC)


def test_it_counts_the_years_between_the_release_in_use_and_the_latest():
    assert ly.libyears(T0, T0 + timedelta(days=365.25 * 2)) == 2.0
    assert ly.libyears(T0, T0 + timedelta(days=36.525)) == 0.1


def test_it_never_counts_negative_libyears():
    # A backport released after the latest version is not "ahead".
    assert ly.libyears(T0 + timedelta(days=100), T0) == 0.0


def test_it_says_unknown_when_a_release_date_is_missing():
    assert ly.libyears(None, T0) is None
    assert ly.libyears(T0, None) is None


def test_it_sums_and_takes_the_median_of_known_values():
    assert ly.total([1.0, None, 2.5]) == 3.5
    assert ly.median([1.0, None, 2.0, 10.0]) == 2.0
    assert ly.median([]) == 0.0


def test_it_flags_no_release_in_two_years():
    now = T0 + timedelta(days=800)
    assert ly.is_stale(T0, now)
    assert not ly.is_stale(T0 + timedelta(days=100), now)
    assert not ly.is_stale(None, now)
