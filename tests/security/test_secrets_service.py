"""Secrets of a service in the hub: scans stored without values, findings with fix-by dates, the baseline, the API."""

import json
from pathlib import Path

import pytest
from django.core import serializers
from security_repos import AWS_KEY_ID, PLAINTEXTS, make_repo

from keepwell.core.models import Finding, Service
from keepwell.security import scanning
from keepwell.security.models import AcceptedSecret, SecretFinding, SecretScan

pytestmark = pytest.mark.django_db


@pytest.fixture
def repo_service(service, tmp_path):
    service.repository = str(make_repo(tmp_path / "shop"))
    service.save()
    return service


def _open_secret_findings(service):
    return Finding.objects.filter(service=service, source="security", key__startswith="secret:").exclude(
        state="resolved"
    )


def test_a_scan_stores_hashes_and_hints_never_values(repo_service):
    scan = scanning.scan_secrets(repo_service, history=True)
    assert scan.status == "done" and scan.found >= 4 and scan.commits_scanned == 2
    dump = serializers.serialize("json", [*SecretFinding.objects.all(), *SecretScan.objects.all(),
                                          *Finding.objects.all()])  # fmt: skip
    for value in PLAINTEXTS:
        assert value not in dump
    assert "AKIA••••" in dump


def test_a_scan_raises_one_finding_per_secret_per_file_with_a_fix_by_date(repo_service):
    scanning.scan_secrets(repo_service)
    titles = sorted(_open_secret_findings(repo_service).values_list("title", flat=True))
    assert any(t.startswith("Secret in config.py:1: AWS Access Key") for t in titles)
    assert any(t.startswith("Secret in id_rsa:1: Private Key") for t in titles)
    # The AWS secret key on line 2 is one value seen by three plugins: one finding.
    assert sum(t.startswith("Secret in config.py:2") for t in titles) == 1
    detail = _open_secret_findings(repo_service).first().detail
    assert detail.startswith("Fix by ") and "30 days for high severity" in detail
    assert AWS_KEY_ID not in detail


def test_a_history_scan_reports_the_removed_secret_and_a_tree_scan_keeps_it(repo_service):
    scanning.scan_secrets(repo_service, history=True)
    assert SecretFinding.objects.filter(filename="old.py", in_tree=False).exists()
    scanning.scan_secrets(repo_service)  # says nothing about history: the row stays
    assert SecretFinding.objects.filter(filename="old.py").exists()
    assert _open_secret_findings(repo_service).filter(title__contains="old.py").exists()


def test_a_secret_removed_from_the_tree_is_cleared(repo_service):
    scanning.scan_secrets(repo_service)
    (Path(repo_service.repository) / "id_rsa").write_text("# nothing\n")
    scanning.scan_secrets(repo_service)
    assert not SecretFinding.objects.filter(filename="id_rsa").exists()
    assert not _open_secret_findings(repo_service).filter(title__contains="id_rsa").exists()


def test_a_service_without_a_local_repository_gets_a_failed_scan_saying_what_to_set(service):
    scan = scanning.scan_secrets(service)
    assert scan.status == "failed" and "has no repository set" in scan.error
    service.repository = "file:///srv/shop.git"
    scan = scanning.scan_secrets(service)
    assert scan.status == "failed" and "KEEPWELL_ALLOW_PRIVATE_TARGETS" in scan.error


def test_a_service_whose_repository_is_a_git_url_is_scanned_with_its_history(service, settings, tmp_path):
    import subprocess

    settings.ALLOW_PRIVATE_TARGETS = True  # file:// reads the hub's disk
    settings.DATA_DIR = tmp_path / "data"
    work = make_repo(tmp_path / "work")
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(tmp_path / "shop.git")], check=True)
    service.repository = (tmp_path / "shop.git").as_uri()
    service.save()
    scan = scanning.scan_secrets(service, history=True)
    assert scan.status == "done", scan.error
    assert scan.commits_scanned == 2
    files = set(SecretFinding.objects.filter(service=service).values_list("filename", flat=True))
    assert {"config.py", "id_rsa", "old.py"} <= files


# --- API ------------------------------------------------------------------------------------------------


def test_the_api_scans_lists_and_accepts_secrets(repo_service, alice_api):
    response = alice_api.post("/api/v1/services/shop-api/secret-scans", {"history": True})
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "done" and response.json()["history"] is True
    listed = alice_api.get("/api/v1/services/shop-api/secrets").json()
    assert listed["count"] >= 5
    assert all(
        set(item) >= {"type", "filename", "line", "hint", "commit", "accepted"} for item in listed["items"]
    )
    for value in PLAINTEXTS:
        assert value not in json.dumps(listed)
    private = next(i for i in listed["items"] if i["type"] == "Private Key")
    accepted = alice_api.post(
        f"/api/v1/services/shop-api/secrets/{private['id']}/accept", {"reason": "test key"}
    )
    assert accepted.status_code == 200 and accepted.json()["accepted_in"] == "hub"
    assert (
        AcceptedSecret.objects.get(fingerprint=SecretFinding.objects.get(pk=private["id"]).fingerprint).reason
        == "test key"
    )
    assert not _open_secret_findings(repo_service).filter(title__contains="id_rsa").exists()
    assert Finding.objects.get(title__contains="id_rsa").state == "resolved"
    # The next scan honours the hub's baseline.
    scanning.scan_secrets(repo_service)
    assert not _open_secret_findings(repo_service).filter(title__contains="id_rsa").exists()
    unaccepted = alice_api.get("/api/v1/services/shop-api/secrets?accepted=false").json()
    assert private["id"] not in [i["id"] for i in unaccepted["items"]]
    scans = alice_api.get("/api/v1/services/shop-api/secret-scans").json()
    assert scans["count"] == 2


def test_a_read_only_token_may_list_but_not_scan_or_accept(repo_service, alice_api_readonly):
    assert alice_api_readonly.get("/api/v1/services/shop-api/secrets").status_code == 200
    assert alice_api_readonly.post("/api/v1/services/shop-api/secret-scans", {}).status_code == 403


def test_another_organization_sees_nothing_even_with_a_service_of_the_same_slug(
    repo_service, other_org, charlie_api, alice_api
):
    alice_api.post("/api/v1/services/shop-api/secret-scans", {})
    row = SecretFinding.objects.first()
    Service.objects.create(organization=other_org, name="Shop API", slug="shop-api")
    listed = charlie_api.get("/api/v1/services/shop-api/secrets").json()
    assert listed["count"] == 0
    assert charlie_api.post(f"/api/v1/services/shop-api/secrets/{row.pk}/accept", {}).status_code == 404
    assert not AcceptedSecret.objects.exists()


@pytest.mark.parametrize("body", [{"history": "yes"}, {"history": 1}, {"history": None}])
def test_a_history_flag_that_is_not_a_boolean_is_refused(repo_service, alice_api, body):
    response = alice_api.post("/api/v1/services/shop-api/secret-scans", body)
    assert response.status_code == 422
    assert not SecretScan.objects.exists()


def test_an_accept_reason_too_long_or_with_nul_is_refused(repo_service, alice_api):
    scanning.scan_secrets(repo_service)
    row = SecretFinding.objects.first()
    url = f"/api/v1/services/shop-api/secrets/{row.pk}/accept"
    assert alice_api.post(url, {"reason": "x" * 301}).status_code == 422
    assert alice_api.post(url, {"reason": "a\u0000b"}).status_code == 422
    assert not AcceptedSecret.objects.exists()


def test_an_unknown_secret_or_service_is_a_404(repo_service, alice_api):
    assert alice_api.post("/api/v1/services/shop-api/secrets/999/accept", {}).status_code == 404
    assert alice_api.get("/api/v1/services/nope/secrets").status_code == 404
