"""Matching npm versions per the OSV evaluation rules, with SemVer 2.0 precedence and pre-releases."""

import pytest
from osv_data import NPM_ADVISORIES

from keepwell.security.osv import NPM, Database, match_package


@pytest.fixture(scope="module")
def db():
    database, stats = Database.from_sources([NPM_ADVISORIES])
    assert stats.skipped == 0
    yield database
    database.close()


def ids(db, package, version):
    records = db.lookup(NPM, [package]).get(package.lower(), [])
    found, _ = match_package(NPM, package, version, records)
    return [v.id for v in found]


@pytest.mark.parametrize(
    "version, affected",
    [
        ("0.9.0", False),
        ("1.0.0-alpha", False),
        ("1.0.0-beta.1", False),
        ("1.0.0-beta.2", True),  # introduced is inclusive
        ("1.0.0-beta.11", True),  # numeric identifiers compare as numbers: beta.11 > beta.2
        ("1.0.0-beta.11+build.5", True),  # build metadata does not change precedence
        ("1.0.0-rc.0", True),
        ("1.0.0-rc.1", False),  # fixed is exclusive
        ("1.0.0", False),  # a release sorts after its pre-releases
    ],
)
def test_it_orders_pre_releases_by_semver_precedence(db, version, affected):
    assert (ids(db, "kw-prerelease", version) == ["GHSA-kw01-prer-elea"]) is affected


def test_it_suggests_a_pre_release_fix_when_that_is_the_fix(db):
    records = db.lookup(NPM, ["kw-prerelease"])["kw-prerelease"]
    (vuln,), package_fix = match_package(NPM, "kw-prerelease", "1.0.0-beta.3", records)
    assert vuln.fixed_in == "1.0.0-rc.1"
    assert package_fix == "1.0.0-rc.1"


@pytest.mark.parametrize(
    "version, affected",
    [
        ("1.9.9", False),
        ("2.0.0-rc.1", False),
        ("2.0.0", True),
        ("2.3.1", True),
        ("2.3.2-alpha", False),
        ("2.4.0", False),
    ],
)
def test_last_affected_is_inclusive_and_nothing_above_it_is_affected(db, version, affected):
    assert bool(ids(db, "kw-last", version)) is affected


def test_last_affected_gives_no_fixed_version(db):
    records = db.lookup(NPM, ["kw-last"])["kw-last"]
    (vuln,), package_fix = match_package(NPM, "kw-last", "2.3.1", records)
    assert vuln.fixed_in is None and package_fix is None


@pytest.mark.parametrize(
    "version, affected",
    [("0.0.1", True), ("2.9.9", True), ("3.0.0-alpha", True), ("3.0.0", False), ("4.1.0", False)],
)
def test_a_limit_event_bounds_the_range(db, version, affected):
    assert bool(ids(db, "kw-limit", version)) is affected


@pytest.mark.parametrize(
    "version, affected", [("1.2.3", True), ("1.2.4-beta.1", True), ("1.2.4", False), ("1.2.2", False)]
)
def test_the_versions_list_matches_exactly(db, version, affected):
    assert bool(ids(db, "kw-listed", version)) is affected


def test_malicious_packages_match_every_version_and_are_critical(db):
    records = db.lookup(NPM, ["kw-evil"])["kw-evil"]
    (vuln,), _ = match_package(NPM, "kw-evil", "1.0.1", records)
    assert vuln.id == "MAL-2026-1234"
    assert vuln.malicious and vuln.severity == "critical"
    assert vuln.fixed_in is None


def test_withdrawn_records_are_ignored(db):
    assert db.lookup(NPM, ["kw-withdrawn"]) == {}


def test_aliases_group_transitively_into_one_vulnerability(db):
    """A and B share no alias, but a third record (of another package) names both CVEs: one vulnerability."""
    records = db.lookup(NPM, ["kw-alias"])["kw-alias"]
    found, package_fix = match_package(NPM, "kw-alias", "1.2.0", records)
    assert len(found) == 1
    vuln = found[0]
    assert vuln.id == "GHSA-kw06-alia-saaa"
    assert vuln.records == ["GHSA-kw06-alia-saaa", "GHSA-kw07-alia-sbbb"]
    assert {"GHSA-kw07-alia-sbbb", "CVE-2026-1111", "CVE-2026-2222"} <= set(vuln.aliases)
    # One fix for the group: 1.4.0 clears B but not A, so the group's fix is 1.5.0.
    assert vuln.fixed_in == "1.5.0" and package_fix == "1.5.0"
    # The worst rating of the group wins (A has a CVSS 3.1 vector, B none).
    assert vuln.severity == "medium" and vuln.cvss_score == 6.5


def test_the_smallest_version_clearing_all_of_a_packages_vulnerabilities(db):
    records = db.lookup(NPM, ["kw-multi"])["kw-multi"]
    found, package_fix = match_package(NPM, "kw-multi", "1.1.0", records)
    by_id = {v.id: v for v in found}
    assert by_id["GHSA-kw08-mult-ixxx"].fixed_in == "1.2.0"
    assert by_id["GHSA-kw09-mult-iyyy"].fixed_in == "1.1.5"
    # 1.1.5 still has the first bug, 1.2.0 reopens the second: 1.2.3 is the first clean version.
    assert package_fix == "1.2.3"
    assert [v.id for v in found] == ["GHSA-kw08-mult-ixxx", "GHSA-kw09-mult-iyyy"]  # worst first
    assert by_id["GHSA-kw08-mult-ixxx"].severity == "high" and by_id["GHSA-kw09-mult-iyyy"].severity == "low"


def test_database_specific_severity_is_used_without_a_vector(db):
    records = db.lookup(NPM, ["kw-prerelease"])["kw-prerelease"]
    (vuln,), _ = match_package(NPM, "kw-prerelease", "1.0.0-beta.5", records)
    assert vuln.severity == "medium" and vuln.cvss_score is None


def test_cvss_v4_vectors_are_scored(db):
    records = db.lookup(NPM, ["kw-last"])["kw-last"]
    (vuln,), _ = match_package(NPM, "kw-last", "2.1.0", records)
    assert vuln.severity == "critical" and vuln.cvss_score == 9.3
    assert vuln.cvss_vector.startswith("CVSS:4.0/")


def test_scoped_names_match(db):
    assert ids(db, "@kw/scoped", "1.9.9") == ["GHSA-kw10-scop-eddd"]
    assert ids(db, "@kw/scoped", "2.0.0") == []


def test_a_version_that_is_not_semver_is_never_placed_in_a_range(db):
    assert ids(db, "kw-limit", "^2.0.0") == []
    assert ids(db, "kw-limit", "latest") == []


def test_semver_precedence_follows_the_specification():
    """The example of section 11 of SemVer 2.0, shuffled, sorts back into order."""
    from keepwell.security.osv.versions import semver2

    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
               "1.0.0-rc.1", "1.0.0", "1.0.1-0", "1.0.1", "2.0.0", "10.0.0"]  # fmt: skip
    assert sorted(reversed(ordered), key=semver2) == ordered
    assert semver2("1.0.0+build.1") == semver2("1.0.0+build.2") == semver2("v1.0.0")
    for bad in ("1.0", "1.0.0-", "01.0.0", "1.0.0-01", "", "x" * 10_000):
        assert semver2(bad) is None, bad
