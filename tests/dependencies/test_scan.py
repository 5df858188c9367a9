"""A whole scan: a repository's dependencies against the fake registries, and its runtimes (no database)."""

from datetime import UTC, datetime

import pytest
from deps_project import build_registry, write_project
from deps_registry_server import start

from keepwell.dependencies.scan import Options, scan

NOW = datetime(2023, 1, 1, tzinfo=UTC)


@pytest.fixture
def registry():
    reg, stop = start(build_registry())
    yield reg
    stop()


def options(reg, tmp_path, **kw):
    return Options(pypi_url=reg.url, npm_url=reg.url + "/npm", cache_dir=tmp_path / "cache", eol_url="", **kw)


def by_name(report):
    return {d.name: d for d in report.dependencies}


def test_it_reports_each_dependency_with_its_drift_and_libyears(registry, tmp_path):
    report = scan(write_project(tmp_path / "repo"), options(registry, tmp_path), now=NOW)
    deps = by_name(report)
    alpha = deps["alpha"]
    assert (alpha.version, alpha.latest, alpha.latest_allowed, alpha.latest_same_major) == (
        "1.0.0",
        "2.0.0",
        "1.0.0",  # "==1.0.0" allows nothing newer
        "1.4.0",
    )
    assert (alpha.drift, alpha.behind_major, alpha.libyears) == ("major", 1, 2.0)
    assert alpha.released.isoformat() == "2020-01-01T00:00:00+00:00"
    assert (deps["beta-pkg"].drift, deps["beta-pkg"].libyears) == ("patch", 0.1)
    assert (deps["old-thing"].drift, deps["old-thing"].libyears) == (None, 0.0)
    assert deps["old-thing"].no_release_in_two_years
    pad = deps["left-pad"]
    # 1.1.0 is allowed but deprecated: npm (and keepwell) do not want it.
    assert (pad.version, pad.latest_allowed, pad.latest, pad.drift) == ("1.0.0", "1.0.0", "3.0.0", "major")
    assert report.total_libyears == pytest.approx(2.0 + 0.1 + pad.libyears)
    assert report.counts()["major"] == 2


def test_it_flags_a_yanked_version_in_use_and_points_to_a_good_one(registry, tmp_path):
    deps = by_name(scan(write_project(tmp_path / "repo"), options(registry, tmp_path), now=NOW))
    assert deps["yanked-one"].yanked and deps["yanked-one"].yanked_reason == "security hole"
    assert deps["yanked-one"].latest == "1.9"  # a yanked release is never "latest"


def test_it_flags_a_deprecated_version_in_use(registry, tmp_path):
    root = write_project(tmp_path / "repo")
    lock = (root / "package-lock.json").read_text().replace('"version": "1.0.0"}', '"version": "1.1.0"}')
    (root / "package-lock.json").write_text(lock)
    deps = by_name(scan(root, options(registry, tmp_path), now=NOW))
    assert deps["left-pad"].deprecated == "use padStart"


def test_it_reports_editable_dependencies_as_such_without_looking_them_up(registry, tmp_path):
    deps = scan(write_project(tmp_path / "repo"), options(registry, tmp_path), now=NOW).dependencies
    local = [d for d in deps if d.kind != "registry"]
    assert [(d.kind, d.latest, d.libyears) for d in local] == [("editable", None, None)]
    assert not any("local" in r for r in registry.requests)


def test_it_says_when_the_version_in_use_is_not_on_the_registry(registry, tmp_path):
    root = write_project(tmp_path / "repo", requirements="alpha==0.0.1\nmissing-pkg==1.0\n")
    deps = by_name(scan(root, options(registry, tmp_path), now=NOW))
    assert deps["alpha"].error == "version 0.0.1 is not on the registry"
    assert deps["missing-pkg"].error.startswith("not found on")


def test_it_finds_the_end_of_life_of_the_declared_runtimes(registry, tmp_path):
    report = scan(
        write_project(tmp_path / "repo"), options(registry, tmp_path), now=datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert [(r.product, r.cycle, r.status) for r in report.runtimes] == [("python", "3.8", "past")]


def test_it_reports_unreadable_files_and_reads_the_rest(registry, tmp_path):
    root = write_project(tmp_path / "repo")
    (root / "package-lock.json").write_text('{"lockfileVersion": 3, "packages": ')
    report = scan(root, options(registry, tmp_path), now=NOW)
    assert any("package-lock.json" in e for e in report.errors)
    assert "alpha" in by_name(report)


def test_it_scans_offline_from_what_an_earlier_scan_cached(registry, tmp_path):
    root = write_project(tmp_path / "repo")
    online = scan(root, options(registry, tmp_path), now=NOW)
    registry.requests.clear()
    offline = scan(root, options(registry, tmp_path, offline=True, ttl=0), now=NOW)
    assert registry.requests == []
    assert offline.as_dict()["dependencies"] == online.as_dict()["dependencies"]


def test_it_matches_versions_as_pep_440_compares_them(registry, tmp_path):
    registry.add_pypi("shorty", "4.2", 0)
    registry.add_pypi("shorty", "4.3", 365.25)
    deps = by_name(
        scan(
            write_project(tmp_path / "repo", requirements="shorty==4.2.0\n"),
            options(registry, tmp_path),
            now=NOW,
        )
    )
    assert (deps["shorty"].error, deps["shorty"].drift, deps["shorty"].libyears) == ("", "minor", 1.0)
