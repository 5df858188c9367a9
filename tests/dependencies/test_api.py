"""The dependencies API: dependencies, scans, trend, end of life and proposals, scoped to the organization."""

import subprocess
import sys

import pytest
from deps_hub_fixtures import *  # noqa: F403  (the registry and repo_service fixtures)

from keepwell.dependencies.models import Proposal

pytestmark = pytest.mark.django_db
BASE = "/api/v1/services/shop-api"

# The service's own test: fails when alpha 2 (which renamed its API) is pinned.
CHECK = (
    "import sys; sys.exit('alpha 2 is not supported' if 'alpha==2' in open('requirements.txt').read() else 0)"
)


def make_git(repo_service):
    root = repo_service.repository
    with open(f"{root}/pyproject.toml", "w") as f:
        f.write(f'[tool.keepwell]\ntest-command = """{sys.executable} -c "{CHECK}" """\n')
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@e.org", "commit", "-qm", "s"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_it_scans_and_lists_the_dependencies(alice_api, repo_service):
    response = alice_api.post(f"{BASE}/dependency-scans")
    assert response.status_code == 202
    scan = response.json()
    assert (scan["status"], scan["dependencies"], scan["major"]) == ("done", 6, 2)
    items = alice_api.get(f"{BASE}/dependencies").json()
    assert items["count"] == 6
    alpha = next(d for d in items["items"] if d["name"] == "alpha")
    assert (alpha["version"], alpha["latest"], alpha["libyears"], alpha["drift"]) == (
        "1.0.0",
        "2.0.0",
        2.0,
        "major",
    )
    assert next(d for d in items["items"] if d["name"] == "old-thing")["no_release_in_two_years"] is True
    major = alice_api.get(f"{BASE}/dependencies", {"drift": "major", "ecosystem": "npm"}).json()
    assert [d["name"] for d in major["items"]] == ["left-pad"]
    assert alice_api.get(f"{BASE}/dependency-scans/{scan['id']}").json()["id"] == scan["id"]
    assert alice_api.get(f"{BASE}/dependency-scans").json()["count"] == 1


def test_it_answers_the_trend_and_end_of_life_status(alice_api, repo_service):
    alice_api.post(f"{BASE}/dependency-scans")
    alice_api.post(f"{BASE}/dependency-scans")
    trend = alice_api.get(f"{BASE}/dependency-trend").json()
    assert len(trend) == 2 and trend[0]["total_libyears"] == trend[1]["total_libyears"] > 2
    eol = alice_api.get(f"{BASE}/eol").json()
    assert [(r["product"], r["cycle"], r["status"], r["eol"]) for r in eol] == [
        ("python", "3.8", "past", "2024-10-07")
    ]


def test_it_says_how_to_start_when_nothing_was_scanned(alice_api, service):
    response = alice_api.get(f"{BASE}/dependencies")
    assert response.status_code == 404
    assert "POST /api/v1/services/shop-api/dependency-scans" in response.json()["detail"]


def test_it_creates_proposals_and_records_their_test_outcome(alice_api, repo_service):
    make_git(repo_service)
    alice_api.post(f"{BASE}/dependency-scans")
    response = alice_api.post(f"{BASE}/dependency-proposals", {"ecosystem": "PyPI"})
    assert response.status_code == 201, response.content
    items = {p["title"]: p for p in response.json()["items"]}
    minor = items["Minor and patch updates of 2 PyPI dependencies: alpha, beta-pkg"]
    major = items["Update alpha from 1.0.0 to 2.0.0 (PyPI, major)"]
    assert (minor["status"], minor["exit_code"], minor["mode"]) == ("passed", 0, "branch")
    assert minor["branch"] == f"keepwell/deps-{minor['id']}"
    assert (major["status"], major["exit_code"]) == ("failed", 1)
    assert "alpha 2 is not supported" in major["output"]
    assert "+alpha==2.0.0" in major["patch"]
    got = alice_api.get(f"{BASE}/dependency-proposals/{major['id']}").json()
    assert got["changes"] == [
        {"name": "alpha", "ecosystem": "PyPI", "from": "1.0.0", "to": "2.0.0", "source": "requirements.txt"}
    ]
    assert alice_api.get(f"{BASE}/dependency-proposals").json()["count"] == 2


def test_it_refuses_a_proposal_when_nothing_is_outdated(alice_api, repo_service):
    with open(f"{repo_service.repository}/requirements.txt", "w") as f:
        f.write("alpha==2.0.0\n")
    alice_api.post(f"{BASE}/dependency-scans")
    response = alice_api.post(f"{BASE}/dependency-proposals", {"ecosystem": "PyPI"})
    assert response.status_code == 409 and "Nothing to propose" in response.json()["detail"]


def test_it_records_a_proposal_error_in_plain_words(alice_api, repo_service):
    alice_api.post(f"{BASE}/dependency-scans")
    response = alice_api.post(f"{BASE}/dependency-proposals", {"ecosystem": "PyPI", "group": "major"})
    proposal = response.json()["items"][0]
    assert proposal["status"] == "error" and "declares no test command" in proposal["error"]


def test_it_refuses_bad_input(alice_api, repo_service):
    alice_api.post(f"{BASE}/dependency-scans")
    assert alice_api.post(f"{BASE}/dependency-proposals", {"ecosystem": "maven"}).status_code == 422
    assert alice_api.get(f"{BASE}/dependencies", {"drift": "sideways"}).status_code == 422
    assert alice_api.get(f"{BASE}/dependency-scans/99999999").status_code == 404
    assert alice_api.get(f"{BASE}/dependency-trend", {"limit": 0}).status_code == 422


def test_a_read_only_token_may_read_but_not_scan(alice_api_readonly, repo_service):
    assert alice_api_readonly.post(f"{BASE}/dependency-scans").status_code == 403
    assert alice_api_readonly.get(f"{BASE}/dependency-scans").status_code == 200


def test_another_organization_sees_nothing(alice_api, charlie_api, repo_service):
    scan = alice_api.post(f"{BASE}/dependency-scans").json()
    for path in (
        "dependencies",
        "dependency-scans",
        f"dependency-scans/{scan['id']}",
        "dependency-trend",
        "eol",
        "dependency-proposals",
    ):
        assert charlie_api.get(f"{BASE}/{path}").status_code == 404
    assert charlie_api.post(f"{BASE}/dependency-proposals", {}).status_code == 404
    assert not Proposal.objects.exists()


def test_it_writes_but_does_not_test_unless_the_operator_allows_it(alice_api, repo_service, settings):
    settings.DEPS_RUN_TESTS = False
    make_git(repo_service)
    alice_api.post(f"{BASE}/dependency-scans")
    proposal = alice_api.post(f"{BASE}/dependency-proposals", {"ecosystem": "PyPI", "group": "major"}).json()[
        "items"
    ][0]
    assert (proposal["status"], proposal["exit_code"], proposal["output"]) == ("untested", None, "")
    assert "KEEPWELL_DEPS_RUN_TESTS=1" in proposal["error"]
    assert "+alpha==2.0.0" in proposal["patch"] and proposal["branch"]


def test_it_scans_only_repositories_inside_the_allowed_folders(alice_api, repo_service, settings, tmp_path):
    settings.REPOSITORY_ROOTS = [str(tmp_path / "elsewhere")]
    scan = alice_api.post(f"{BASE}/dependency-scans").json()
    assert scan["status"] == "failed"
    assert "inside" in scan["error"] and "KEEPWELL_REPOSITORY_ROOTS" in scan["error"]
    settings.REPOSITORY_ROOTS = [str(tmp_path)]
    assert alice_api.post(f"{BASE}/dependency-scans").json()["status"] == "done"
