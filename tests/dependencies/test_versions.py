"""Version ordering, ranges and drift for PyPI and npm (pure, no database)."""

import pytest

from keepwell.dependencies import versions as v

PY, NPM = "PyPI", "npm"


def test_it_orders_pypi_versions_by_pep_440():
    assert v.latest(PY, ["1.9", "1.10", "1.10.post1", "1.2"]) == "1.10.post1"


def test_it_ignores_pre_releases_unless_one_is_in_use():
    found = ["1.0.0", "1.1.0", "2.0.0rc1"]
    assert v.latest(PY, found) == "1.1.0"
    assert v.latest(PY, found, current="2.0.0b1") == "2.0.0rc1"
    assert v.latest(NPM, ["1.0.0", "2.0.0-beta.1"]) == "1.0.0"
    assert v.latest(NPM, ["1.0.0", "2.0.0-beta.1"], current="2.0.0-alpha.1") == "2.0.0-beta.1"


def test_it_orders_npm_versions_numerically():
    assert v.latest(NPM, ["1.2.3", "1.10.0", "1.9.9"]) == "1.10.0"


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("^1.2.0", "1.4.0"),
        ("~1.2.0", "1.2.9"),
        ("1.x", "1.4.0"),
        ("1.2.x || 2.x", "2.1.0"),
        ("1.2.0 - 1.3.5", "1.3.0"),
        (">=1.0.0 <1.3.0", "1.2.9"),
        ("*", "2.1.0"),
        ("", "2.1.0"),
        ("^3.0.0", None),
    ],
)
def test_it_finds_the_latest_version_an_npm_range_allows(spec, expected):
    found = ["1.2.0", "1.2.9", "1.3.0", "1.4.0", "2.0.0", "2.1.0", "3.0.0-beta.1"]
    assert v.latest_allowed(NPM, found, spec) == expected


@pytest.mark.parametrize(
    "spec, expected",
    [(">=2,<3", "2.5"), ("~=2.1", "2.5"), ("==2.1.*", "2.1.3"), ("", "3.0"), (">4", None)],
)
def test_it_finds_the_latest_version_a_pypi_specifier_allows(spec, expected):
    assert v.latest_allowed(PY, ["2.0", "2.1.3", "2.5", "3.0", "3.1a1"], spec) == expected


@pytest.mark.parametrize(
    "eco, current, target, kind, parts",
    [
        (PY, "1.2.3", "3.0.0", "major", (2, 0, 0)),
        (PY, "1.2.3", "1.5.0", "minor", (0, 3, 0)),
        (PY, "1.2.3", "1.2.7", "patch", (0, 0, 4)),
        (PY, "1.2", "1.2.0.1", "patch", (0, 0, 1)),
        (PY, "2.0", "1.9", None, (0, 0, 0)),
        (NPM, "1.2.3", "2.0.0", "major", (1, 0, 0)),
        (NPM, "1.2.3", "1.2.3", None, (0, 0, 0)),
        (NPM, "not-a-version", "1.0.0", None, (0, 0, 0)),
    ],
)
def test_it_says_how_far_a_version_is_behind(eco, current, target, kind, parts):
    behind = v.behind(eco, current, target)
    assert behind.kind == kind
    assert (behind.major, behind.minor, behind.patch) == parts


def test_it_rejects_malformed_and_hostile_ranges_without_raising():
    for spec in ["^^1", ">=1.0.0 <<2", "1.0.0 - ", "x" * 10_000, "\x00", "((1))"]:
        assert v.latest_allowed(NPM, ["1.0.0"], spec) in (None, "1.0.0")
    for spec in ["=>1", "~~1", ">=1,<" * 1000, "\x00", ">=1," * 1000]:
        assert v.valid_range(PY, spec) is False
        assert v.latest_allowed(PY, ["1.0"], spec) is None


def test_it_skips_versions_that_do_not_parse():
    assert v.latest(PY, ["1.0", "banana", "", "9" * 300]) == "1.0"
    assert v.latest(NPM, ["1.0.0", "latest", "1.0"]) in ("1.0.0",)
