"""The hub's scans: stored rows, findings raised and resolved, the scorecard and the nightly job."""

import pytest
from deps_hub_fixtures import *  # noqa: F403  (the registry and repo_service fixtures)

from keepwell.core.models import Finding
from keepwell.core.scorecard import ATTENTION, FAILING, NOT_SET_UP
from keepwell.dependencies import checks, hub, tasks
from keepwell.dependencies.models import Scan

pytestmark = pytest.mark.django_db


def open_findings(service):
    return dict(
        Finding.objects.filter(service=service, source="dependencies")
        .exclude(state="resolved")
        .values_list("key", "severity")
    )


def test_it_stores_a_scan_with_its_rows_and_figures(repo_service):
    row = hub.scan_service(repo_service)
    assert row.status == Scan.Status.DONE
    assert (row.dependencies, row.major, row.patch, row.yanked, row.eol_past) == (6, 2, 1, 1, 1)
    alpha = row.rows.get(name="alpha")
    assert (alpha.latest, alpha.libyears, alpha.drift) == ("2.0.0", 2.0, "major")
    assert row.runtimes.get().status == "past"


def test_it_raises_findings_for_end_of_life_yanked_versions_and_drift(repo_service, settings):
    settings.DEPS_MAX_LIBYEARS = 1
    settings.DEPS_MAX_MAJOR_BEHIND = 1  # left-pad is two majors behind
    hub.scan_service(repo_service)
    assert open_findings(repo_service) == {
        "eol:python:3.8": "critical",
        "yanked:PyPI:yanked-one:2.0": "warning",
        "drift:libyears": "warning",
        "drift:major": "warning",
    }
    finding = Finding.objects.get(service=repo_service, key="eol:python:3.8")
    assert finding.title == "Python 3.8 reached its end of life on 2024-10-07"
    assert finding.url == f"/o/acme/dependencies/s/{repo_service.slug}/"


def test_it_resolves_the_findings_a_later_scan_no_longer_shows(repo_service):
    hub.scan_service(repo_service)
    root = repo_service.repository
    with open(f"{root}/Dockerfile", "w") as f:
        f.write("FROM python:3.13-slim\n")
    with open(f"{root}/requirements.txt", "w") as f:
        f.write("alpha==2.0.0\n")
    hub.scan_service(repo_service)
    assert open_findings(repo_service) == {}


def test_it_records_a_failed_scan_when_the_repository_is_not_a_folder(service, registry):
    service.repository = "/nowhere/shop"
    service.save()
    row = hub.scan_service(service)
    assert row.status == Scan.Status.FAILED and "not a folder on this machine" in row.error


def test_it_scans_a_service_whose_repository_is_a_git_url(service, registry, tmp_path, settings):
    import subprocess

    from deps_project import write_project

    settings.DATA_DIR = tmp_path / "data"
    work = write_project(tmp_path / "work")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "init"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(tmp_path / "shop.git")], check=True)
    service.repository = (tmp_path / "shop.git").as_uri()
    service.save()
    assert hub.can_scan(service)
    row = hub.scan_service(service)
    assert row.status == Scan.Status.DONE, row.error
    assert row.dependencies == 6
    assert (settings.DATA_DIR / "repositories" / str(service.pk) / "requirements.txt").is_file()


def test_it_refuses_a_private_registry_unless_allowed(repo_service, settings):
    settings.ALLOW_PRIVATE_TARGETS = False
    row = hub.scan_service(repo_service)
    assert "loopback, private, link-local or reserved" in row.rows.get(name="alpha").error


def test_the_scorecard_says_what_the_latest_scan_found(repo_service, service):
    assert checks.status(repo_service).state == NOT_SET_UP
    hub.scan_service(repo_service)
    status = checks.status(repo_service)
    assert status.state == FAILING and status.reason.startswith("1 runtime(s) past end of life")
    with open(f"{repo_service.repository}/Dockerfile", "w") as f:
        f.write("FROM python:3.13\n")
    hub.scan_service(repo_service)
    assert checks.status(repo_service).state == ATTENTION


def test_the_nightly_job_scans_every_service_with_a_repository_folder(repo_service, acme):
    from keepwell.core.models import Service

    Service.objects.create(organization=acme, name="No repo", slug="no-repo")
    assert tasks.nightly_scans.call_local() == 1
    assert Scan.objects.get(service=repo_service).status == Scan.Status.DONE
    # A scan already run is not run again (jobs are retried safely).
    row = Scan.objects.get()
    assert tasks.run_scan.call_local(row.pk) is None


def test_it_keeps_a_trend_across_scans(repo_service):
    hub.scan_service(repo_service)
    with open(f"{repo_service.repository}/requirements.txt", "w") as f:
        f.write("alpha==2.0.0\n")
    hub.scan_service(repo_service)
    totals = list(
        Scan.objects.filter(service=repo_service)
        .order_by("created", "id")
        .values_list("total_libyears", flat=True)
    )
    assert len(totals) == 2 and totals[0] > totals[1]


def test_it_keeps_the_rows_of_recent_scans_and_the_figures_of_all(repo_service):
    for _ in range(3):
        hub.scan_service(repo_service)
    assert hub.prune(repo_service, keep=1) == 12  # six rows of each of the two older scans
    scans = list(Scan.objects.filter(service=repo_service).order_by("created", "id"))
    assert [s.rows.count() for s in scans] == [0, 0, 6]
    assert all(s.total_libyears > 0 for s in scans)
