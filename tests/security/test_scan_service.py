"""The hub scans a service's repository against the local OSV database, keeps its state and raises findings."""

import json
import shutil

import pytest
from osv_data import DATA, NPM_ADVISORIES

from keepwell.core.models import Finding
from keepwell.security import vulnerabilities
from keepwell.security.models import ServiceVulnerability, VulnerabilityScan
from keepwell.security.osv import build
from keepwell.security.tasks import scan_service_vulnerabilities, vulnerability_scans

pytestmark = pytest.mark.django_db


@pytest.fixture
def osv_index(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    build([NPM_ADVISORIES], settings.DATA_DIR / "osv" / "osv.sqlite3")
    return settings.DATA_DIR


@pytest.fixture
def repo(tmp_path, service):
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(DATA / "npm-lock.json", root / "package-lock.json")
    shutil.copy(DATA / "npm-package.json", root / "package.json")
    service.repository = str(root)
    service.save()
    return root


def lock_with(root, **versions):
    """Rewrite the lockfile with these package versions."""
    lock = json.loads((root / "package-lock.json").read_text())
    for name, version in versions.items():
        key = f"node_modules/{name}"
        if version is None:
            lock["packages"].pop(key, None)
        else:
            lock["packages"][key] = {"version": version}
    (root / "package-lock.json").write_text(json.dumps(lock, indent=2))


def security_findings(service):
    return {f.key: f for f in Finding.objects.filter(service=service, source="security")}


def test_a_scan_records_each_vulnerability_once_with_a_finding(osv_index, repo, service):
    scan = vulnerabilities.scan_service(service)
    assert scan.status == "done", scan.error
    assert scan.found == 7 and scan.dependencies == 7
    rows = {(r.package, r.osv_id): r for r in ServiceVulnerability.objects.filter(service=service)}
    assert set(rows) == {
        ("kw-prerelease", "GHSA-kw01-prer-elea"),
        ("kw-evil", "MAL-2026-1234"),
        ("kw-alias", "GHSA-kw06-alia-saaa"),
        ("@kw/scoped", "GHSA-kw10-scop-eddd"),
        ("kw-multi", "GHSA-kw08-mult-ixxx"),
        ("kw-multi", "GHSA-kw09-mult-iyyy"),
        ("kw-limit", "GHSA-kw03-limi-tedd"),
    }
    evil = rows[("kw-evil", "MAL-2026-1234")]
    assert (evil.severity, evil.state, evil.fixed_in, evil.source_file) == (
        "critical",
        "affected",
        "",
        "package-lock.json",
    )
    assert evil.source_line and evil.version == "1.0.1"
    assert rows[("kw-multi", "GHSA-kw09-mult-iyyy")].package_fixed_in == "1.2.3"
    found = security_findings(service)
    assert set(found) == {r.finding_key for r in rows.values()}
    finding = found[evil.finding_key]
    assert finding.state == "open" and finding.severity == "critical"
    assert finding.title.startswith("kw-evil 1.0.1 is affected by MAL-2026-1234; no fix yet")
    assert finding.url == "/o/acme/security/services/shop-api/"


def test_a_second_scan_changes_nothing(osv_index, repo, service):
    vulnerabilities.scan_service(service)
    before = {(r.pk, r.state, r.first_seen) for r in ServiceVulnerability.objects.all()}
    vulnerabilities.scan_service(service)
    assert {(r.pk, r.state, r.first_seen) for r in ServiceVulnerability.objects.all()} == before
    assert all(f.count == 2 and f.state == "open" for f in security_findings(service).values())


def test_an_upgrade_fixes_the_vulnerability_and_resolves_its_finding(osv_index, repo, service):
    vulnerabilities.scan_service(service)
    lock_with(repo, **{"kw-evil": None, "kw-multi": "1.2.3"})
    vulnerabilities.scan_service(service)
    evil = ServiceVulnerability.objects.get(service=service, package="kw-evil")
    assert evil.state == "fixed"
    assert security_findings(service)[evil.finding_key].state == "resolved"
    assert set(ServiceVulnerability.objects.filter(package="kw-multi").values_list("state", flat=True)) == {
        "fixed"
    }


def test_a_still_vulnerable_upgrade_keeps_the_same_row_and_finding(osv_index, repo, service):
    vulnerabilities.scan_service(service)
    row = ServiceVulnerability.objects.get(service=service, package="kw-multi", osv_id="GHSA-kw08-mult-ixxx")
    lock_with(repo, **{"kw-multi": "1.1.2"})
    vulnerabilities.scan_service(service)
    row.refresh_from_db()
    assert (row.version, row.state) == ("1.1.2", "affected")
    assert security_findings(service)[row.finding_key].count == 2


def test_a_vulnerability_that_comes_back_reopens_its_finding(osv_index, repo, service):
    vulnerabilities.scan_service(service)
    lock_with(repo, **{"kw-evil": None})
    vulnerabilities.scan_service(service)
    lock_with(repo, **{"kw-evil": "1.0.2"})
    vulnerabilities.scan_service(service)
    evil = ServiceVulnerability.objects.get(service=service, package="kw-evil")
    assert (evil.state, evil.version) == ("affected", "1.0.2")
    assert security_findings(service)[evil.finding_key].state == "open"


def test_without_a_database_the_scan_fails_saying_what_to_run(settings, tmp_path, repo, service):
    settings.DATA_DIR = tmp_path / "empty"
    scan = vulnerabilities.scan_service(service)
    assert scan.status == "failed" and "keepwell security osv update" in scan.error
    assert not ServiceVulnerability.objects.exists()


@pytest.mark.parametrize(
    "repository, message",
    [
        ("", "has no repository set"),
        ("file:///srv/shop.git", "file:// repository URLs read the hub's own disk"),
        ("ftp://example.com/shop.git", "is not a git URL keepwell fetches"),
        ("/nonexistent/kw", "is not a folder"),
    ],
)
def test_a_repository_that_cannot_be_scanned_is_said(osv_index, service, repository, message):
    service.repository = repository
    service.save()
    scan = vulnerabilities.scan_service(service)
    assert scan.status == "failed" and message in scan.error


def test_a_folder_outside_the_allowed_repository_roots_is_not_scanned(
    osv_index, repo, service, settings, tmp_path
):
    # The same setting that limits dependency scans limits this scan (and every other reader of repositories).
    settings.REPOSITORY_ROOTS = [str(tmp_path / "elsewhere")]
    scan = vulnerabilities.scan_service(service)
    assert scan.status == "failed" and "KEEPWELL_REPOSITORY_ROOTS" in scan.error
    assert not ServiceVulnerability.objects.exists()
    settings.REPOSITORY_ROOTS = [str(repo.parent)]
    assert vulnerabilities.scan_service(service).status == "done"


def test_the_jobs_scan_services_with_a_repository(osv_index, repo, service, acme):
    from keepwell.core.models import Service

    Service.objects.create(organization=acme, name="No repo", slug="no-repo")
    # A git URL is scanned too (this one is refused: file:// needs KEEPWELL_ALLOW_PRIVATE_TARGETS).
    remote = Service.objects.create(
        organization=acme, name="Remote", slug="remote", repository="file:///srv/r.git"
    )
    vulnerability_scans.call_local()
    assert VulnerabilityScan.objects.filter(service=service, status="done").count() == 1
    assert VulnerabilityScan.objects.filter(service=remote, status="failed").count() == 1
    assert VulnerabilityScan.objects.count() == 2
    scan_service_vulnerabilities(service.pk)
    assert VulnerabilityScan.objects.filter(service=service).count() == 2


def test_a_service_whose_repository_is_a_git_url_is_scanned(osv_index, repo, service, settings, tmp_path):
    import subprocess

    settings.ALLOW_PRIVATE_TARGETS = True  # file:// reads the hub's disk
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(tmp_path / "r.git")], check=True)
    service.repository = (tmp_path / "r.git").as_uri()
    service.save()
    scan = vulnerabilities.scan_service(service, data_dir=osv_index)
    assert scan.status == "done", scan.error
    assert ServiceVulnerability.objects.filter(service=service).exists()


def test_advisories_that_become_aliases_merge_into_one_row(settings, tmp_path, service):
    """A new record ties two known advisories together: one row goes on, the other is closed, no clash."""
    settings.DATA_DIR = tmp_path / "data"
    records = [
        r
        for r in json.loads(NPM_ADVISORIES.read_text())
        if r["id"] in ("GHSA-kw06-alia-saaa", "GHSA-kw07-alia-sbbb")
    ]
    first = tmp_path / "first.json"
    first.write_text(json.dumps(records))
    build([first], settings.DATA_DIR / "osv" / "osv.sqlite3")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "requirements.txt").write_text("")  # no Python dependencies
    (root / "package.json").write_text(json.dumps({"name": "app", "dependencies": {"kw-alias": "1.2.0"}}))
    service.repository = str(root)
    service.save()
    vulnerabilities.scan_service(service)
    assert set(ServiceVulnerability.objects.values_list("osv_id", "state")) == {
        ("GHSA-kw06-alia-saaa", "affected"),
        ("GHSA-kw07-alia-sbbb", "affected"),
    }
    build([NPM_ADVISORIES], settings.DATA_DIR / "osv" / "osv.sqlite3")  # now with the record tying them
    scan = vulnerabilities.scan_service(service)
    assert scan.status == "done" and scan.found == 1
    assert set(ServiceVulnerability.objects.values_list("osv_id", "state")) == {
        ("GHSA-kw06-alia-saaa", "affected"),
        ("GHSA-kw07-alia-sbbb", "fixed"),
    }
