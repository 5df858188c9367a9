"""VEX decisions through the API: recorded per service, applied to the vulnerability state and its finding."""

import shutil

import pytest
from osv_data import DATA, NPM_ADVISORIES

from keepwell.core.models import Finding
from keepwell.security import vulnerabilities
from keepwell.security.models import ServiceVulnerability, VexDecision
from keepwell.security.osv import build

pytestmark = pytest.mark.django_db
VEX = "/api/v1/services/shop-api/vex"


@pytest.fixture
def scanned(settings, tmp_path, service):
    settings.DATA_DIR = tmp_path / "data"
    build([NPM_ADVISORIES], settings.DATA_DIR / "osv" / "osv.sqlite3")
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(DATA / "npm-lock.json", root / "package-lock.json")
    shutil.copy(DATA / "npm-package.json", root / "package.json")
    service.repository = str(root)
    service.save()
    vulnerabilities.scan_service(service)
    return service


def finding_of(row):
    return Finding.objects.get(service=row.service, source="security", key=row.finding_key)


def test_not_affected_with_a_justification_resolves_the_finding(alice_api, scanned):
    response = alice_api.post(
        VEX,
        {
            "vulnerability": "CVE-2026-1111",  # an alias of the group's advisory is enough
            "state": "not_affected",
            "justification": "code_not_reachable",
            "detail": "We never parse untrusted requests with kw-alias.",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["author"] == "alice@example.org" and body["package"] == ""
    row = ServiceVulnerability.objects.get(service=scanned, package="kw-alias")
    assert row.state == "not_affected"
    assert finding_of(row).state == "resolved"
    # It stays so on the next scan.
    vulnerabilities.scan_service(scanned)
    row.refresh_from_db()
    assert row.state == "not_affected" and finding_of(row).state == "resolved"


def test_withdrawing_a_decision_reopens_the_finding(alice_api, scanned):
    created = alice_api.post(VEX, {"vulnerability": "MAL-2026-1234", "state": "false_positive"}).json()
    row = ServiceVulnerability.objects.get(service=scanned, package="kw-evil")
    assert row.state == "false_positive" and finding_of(row).state == "resolved"
    assert alice_api.delete(f"{VEX}/{created['id']}").status_code == 204
    row.refresh_from_db()
    assert row.state == "affected" and finding_of(row).state == "open"


def test_a_package_specific_decision_wins_and_a_new_one_replaces_the_old(alice_api, scanned):
    alice_api.post(VEX, {"vulnerability": "GHSA-kw08-mult-ixxx", "state": "under_investigation"})
    alice_api.post(
        VEX,
        {
            "vulnerability": "GHSA-kw08-mult-ixxx",
            "package": "kw-multi",
            "state": "not_affected",
            "justification": "requires_configuration",
        },
    )
    row = ServiceVulnerability.objects.get(service=scanned, osv_id="GHSA-kw08-mult-ixxx")
    assert row.state == "not_affected"
    alice_api.post(
        VEX,
        {
            "vulnerability": "GHSA-kw08-mult-ixxx",
            "package": "kw-multi",
            "state": "affected",
            "detail": "It is.",
        },
    )
    assert VexDecision.objects.filter(service=scanned).count() == 2
    row.refresh_from_db()
    assert row.state == "affected" and finding_of(row).state == "open"
    listed = alice_api.get(VEX).json()
    assert listed["count"] == 2
    assert {(i["package"], i["state"]) for i in listed["items"]} == {
        ("", "under_investigation"),
        ("kw-multi", "affected"),
    }


def test_under_investigation_keeps_the_finding_open(alice_api, scanned):
    alice_api.post(VEX, {"vulnerability": "GHSA-kw10-scop-eddd", "state": "under_investigation"})
    row = ServiceVulnerability.objects.get(service=scanned, package="@kw/scoped")
    assert row.state == "under_investigation" and finding_of(row).state == "open"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"vulnerability": "MAL-2026-1234", "state": "not_affected"}, "justification"),
        (
            {"vulnerability": "MAL-2026-1234", "state": "not_affected", "justification": "because"},
            "justification",
        ),
        ({"vulnerability": "MAL-2026-1234", "state": "ignored"}, "state"),
        ({"vulnerability": "<script>alert(1)</script>", "state": "affected"}, "vulnerability"),
        ({"vulnerability": "", "state": "affected"}, "vulnerability"),
        ({"vulnerability": "X" * 201, "state": "affected"}, "vulnerability"),
        ({"vulnerability": "MAL-2026-1234", "state": "affected", "detail": "x" * 10_001}, "detail"),
        ({"vulnerability": "MAL-2026-1234", "state": "affected", "package": "a\x00b"}, "package"),
        ({"state": "affected"}, "vulnerability"),
    ],
)
def test_bad_decisions_are_refused_with_422_naming_the_field(alice_api, scanned, payload, field):
    response = alice_api.post(VEX, payload)
    assert response.status_code == 422
    assert field in response.content.decode()
    assert not VexDecision.objects.exists()


def test_read_only_tokens_and_viewers_cannot_decide(alice_api_readonly, scanned):
    response = alice_api_readonly.post(VEX, {"vulnerability": "MAL-2026-1234", "state": "false_positive"})
    assert response.status_code == 403
    assert alice_api_readonly.get(VEX).status_code == 200


def test_another_organization_sees_nothing(charlie_api, alice_api, scanned):
    created = alice_api.post(VEX, {"vulnerability": "MAL-2026-1234", "state": "false_positive"}).json()
    assert charlie_api.get(VEX).status_code == 404
    assert charlie_api.post(VEX, {"vulnerability": "MAL-2026-1234", "state": "affected"}).status_code == 404
    assert charlie_api.delete(f"{VEX}/{created['id']}").status_code == 404
    assert charlie_api.get("/api/v1/services/shop-api/vulnerabilities").status_code == 404
    assert charlie_api.get("/api/v1/services/shop-api/sbom").status_code == 404
    assert VexDecision.objects.count() == 1


def test_vulnerabilities_are_listed_worst_first_with_filters(alice_api, scanned):
    body = alice_api.get("/api/v1/services/shop-api/vulnerabilities").json()
    assert body["count"] == 7
    assert body["items"][0]["severity"] == "critical"
    first = body["items"][0]
    for field in ("package", "ecosystem", "version", "osv_id", "aliases", "severity", "cvss_score", "fixed_in",
                  "summary", "source_file", "source_line", "first_seen", "last_seen", "state"):  # fmt: skip
        assert field in first
    high = alice_api.get("/api/v1/services/shop-api/vulnerabilities?severity=high").json()
    assert {i["osv_id"] for i in high["items"]} == {"GHSA-kw03-limi-tedd", "GHSA-kw08-mult-ixxx"}
    alice_api.post(VEX, {"vulnerability": "MAL-2026-1234", "state": "false_positive"})
    open_ = alice_api.get("/api/v1/services/shop-api/vulnerabilities?state=open").json()
    assert open_["count"] == 6
    assert alice_api.get("/api/v1/services/shop-api/vulnerabilities?state=bogus").status_code == 422


def test_a_scan_can_be_started_from_the_api(alice_api, scanned):
    response = alice_api.post("/api/v1/services/shop-api/vulnerability-scans")
    assert response.status_code == 202
    assert response.json()["status"] == "done" and response.json()["found"] == 7
    scans = alice_api.get("/api/v1/services/shop-api/vulnerability-scans").json()
    assert scans["count"] == 2
