"""Matching against the real PyPI OSV export: a case for each pitfall peers have fallen into."""

import pytest
from osv_data import PYPI_EXPORT, needs_pypi_export

from keepwell.dependencies.types import Dependency
from keepwell.security.osv import PYPI, Database, match_package
from keepwell.security.scan import check

pytestmark = needs_pypi_export


@pytest.fixture(scope="module")
def db():
    database, stats = Database.from_sources([PYPI_EXPORT])
    assert stats.advisories > 2000 and stats.withdrawn >= 1
    yield database
    database.close()


def match(db, name, version):
    records = db.lookup(PYPI, [name])
    key = next(iter(records), None)
    return match_package(PYPI, name, version, records[key] if key else [])


def test_names_are_normalized_on_both_sides(db):
    """The advisory says jw.util; requirements may say JW_Util or jw-util (PEP 503)."""
    for spelling in ("jw.util", "jw_util", "JW-Util", "jw--util"):
        found, _ = match(db, spelling, "2.0")
        assert [v.id for v in found] == ["PYSEC-2020-341"], spelling
    found, _ = match(db, "Django", "3.2.0")
    assert found


def test_versions_are_ordered_by_pep_440_not_as_strings(db):
    """As strings 3.2.10 < 3.2.9; as versions it is the fix of PYSEC-2021-439."""
    assert "PYSEC-2021-439" in [v.id for v in match(db, "django", "3.2.9")[0]]
    assert "PYSEC-2021-439" not in [v.id for v in match(db, "django", "3.2.10")[0]]


def test_pep_440_equivalent_spellings_match(db):
    """3.2 is 3.2.0 (PEP 440), so both spellings have the same vulnerabilities; a post-release is still 3.2.0."""
    assert {v.id for v in match(db, "django", "3.2")[0]} == {v.id for v in match(db, "django", "3.2.0")[0]}
    assert match(db, "django", "3.2.0.post0")[0]


def test_each_vulnerability_gets_the_fix_on_its_own_branch(db):
    """PYSEC-2021-109 is fixed in 3.1.13 and 3.2.5: a 3.1 user is told 3.1.13, not 3.2.5."""
    by_id = {v.id: v for v in match(db, "django", "3.1.0")[0]}
    assert by_id["PYSEC-2021-109"].fixed_in == "3.1.13"
    by_id = {v.id: v for v in match(db, "django", "3.2.0")[0]}
    assert by_id["PYSEC-2021-109"].fixed_in == "3.2.5"


def test_the_package_fix_clears_every_vulnerability(db):
    found, package_fix = match(db, "django", "3.2.0")
    assert len(found) > 10
    assert package_fix == "3.2.25"
    assert match(db, "django", package_fix)[0] == []


def test_last_affected_is_inclusive_and_has_no_fix(db):
    """py through 1.11.0 (last_affected 1.11.0): 1.11.0 is affected and no fixed version exists."""
    found, package_fix = match(db, "py", "1.11.0")
    assert "PYSEC-2022-42969" in [v.id for v in found]
    assert next(v for v in found if v.id == "PYSEC-2022-42969").fixed_in is None
    assert package_fix is None
    assert "PYSEC-2022-42969" not in [v.id for v in match(db, "py", "1.11.1")[0]]


def test_withdrawn_advisories_are_ignored(db):
    """PYSEC-2022-43059 (aiohttp, every version) was withdrawn."""
    ids = [v.id for v in match(db, "aiohttp", "3.8.1")[0]]
    assert "PYSEC-2022-43059" not in ids


def test_aliases_are_grouped_transitively(db):
    """PYSEC-2021-335 and PYSEC-2021-370 (AccessControl) share GHSA-qcx9-j53g-ccgf: one vulnerability."""
    found, _ = match(db, "AccessControl", "4.0")
    assert len(found) == 1
    assert found[0].records == ["PYSEC-2021-335", "PYSEC-2021-370"]
    assert {"CVE-2021-32807", "CVE-2021-32811", "PYSEC-2021-370"} <= set(found[0].aliases)


def test_a_groups_fix_must_clear_all_of_its_advisories(db):
    """For Zope 5.0, PYSEC-2021-875 is fixed in 5.2 but its alias PYSEC-2021-368 only in 5.3."""
    found, package_fix = match(db, "zope", "5.0")
    group = next(v for v in found if "PYSEC-2021-875" in v.records)
    assert group.records == ["PYSEC-2021-368", "PYSEC-2021-875"]
    assert group.fixed_in == "5.3"


def test_only_pinned_versions_are_matched(db):
    """A range is not a version: it is never read as one (the scan reports it as unpinned)."""
    deps = [
        Dependency(
            name="django", ecosystem=PYPI, version=None, specifier=">=3.2,<4", source="pyproject.toml", line=3
        ),
        Dependency(name="jinja2", ecosystem=PYPI, version="2.10", source="requirements.txt", line=7),
    ]
    found = check(deps, db)
    assert {f.vulnerability.package for f in found} == {"jinja2"}
    assert found[0].locations[0].file == "requirements.txt" and found[0].locations[0].line == 7


def test_a_version_that_is_not_pep_440_is_not_placed_in_ranges(db):
    found, _ = match(db, "django", "not-a-version")
    assert found == []


def test_unknown_packages_have_no_vulnerabilities(db):
    assert db.lookup(PYPI, ["surely-not-a-package-name-kw"]) == {}
