"""Release ordering for regressions: PEP 440, then SemVer, then the first-seen time (pure logic)."""

from datetime import UTC, datetime

import pytest

from keepwell.errors.versions import compare, newest, split_package

EARLY, LATE = datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "newer, older",
    [
        ("1.10.0", "1.9.0"),  # not string order
        ("2.0.0", "2.0.0rc1"),
        ("v1.2.3", "1.2.2"),
        ("1.2.3-rc.2", "1.2.3-rc.1"),
        ("2024.10.1", "2024.9.30"),
        ("shop@1.4.0+build.7", "shop@1.3.9+build.9"),
        ("1.0.0-alpha.beta", "1.0.0-alpha.1"),  # SemVer only: PEP 440 cannot parse alpha.beta
    ],
)
def test_it_orders_versions_by_their_numbers(newer, older):
    assert compare(newer, older) == 1
    assert compare(older, newer) == -1


def test_it_falls_back_to_first_seen_time_for_names_that_are_not_versions():
    assert compare("3f9a1c2", "b7e6d5c", LATE, EARLY) == 1
    assert compare("3f9a1c2", "b7e6d5c", EARLY, LATE) == -1
    assert compare("3f9a1c2", "b7e6d5c") == 0, "nothing tells them apart"


def test_the_version_beats_the_time_when_both_parse():
    """A hotfix of an old line, first seen later, is still older than the current version."""
    assert compare("1.9.1", "2.0.0", LATE, EARLY) == -1


def test_it_compares_releases_of_different_packages_only_by_time():
    assert split_package("shop@1.2.3") == ("shop", "1.2.3")
    assert compare("shop@1.0.0", "admin@2.0.0", LATE, EARLY) == 1


def test_it_treats_hostile_names_as_unparsable():
    assert compare("1" * 10_000, "2", EARLY, LATE) == -1
    assert compare("\x00", "1.0.0", LATE, EARLY) == 1


def test_it_picks_the_newest_release():
    assert newest(["1.2.0", "1.10.0", "1.9.9"]) == "1.10.0"
    assert newest(["abc", "def"], {"abc": LATE, "def": EARLY}) == "abc"
    assert newest([]) is None
