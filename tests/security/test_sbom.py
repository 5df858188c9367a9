"""The SBOM of a service: CycloneDX 1.6 JSON with components, vulnerabilities and the team's VEX decisions."""

import json
import shutil

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from osv_data import DATA, NPM_ADVISORIES

from keepwell.dependencies.types import NPM, PYPI, Dependency
from keepwell.security import sbom, vulnerabilities
from keepwell.security.osv import build

SBOM = "/api/v1/services/shop-api/sbom"


def valid(text):
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert errors is None, errors
    return json.loads(text)


def test_purls_of_pypi_and_npm_packages():
    assert sbom.purl(Dependency(name="django", ecosystem=PYPI, version="4.2.1")) == "pkg:pypi/django@4.2.1"
    assert (
        sbom.purl(Dependency(name="@kw/scoped", ecosystem=NPM, version="1.0.0-rc.1"))
        == "pkg:npm/%40kw/scoped@1.0.0-rc.1"
    )
    assert sbom.purl(Dependency(name="left-pad", ecosystem=NPM, version=None)) == "pkg:npm/left-pad"


def test_an_sbom_without_vulnerabilities_is_valid():
    deps = [
        Dependency(name="django", ecosystem=PYPI, version="4.2.1"),
        Dependency(name="pytest", ecosystem=PYPI, version="8.0.0", dev=True, direct=True),
        Dependency(name="requests", ecosystem=PYPI, version=None, specifier=">=2"),
        Dependency(name="local", ecosystem=PYPI, version=None, kind="path", url="../local"),
    ]
    bom = valid(sbom.to_json(sbom.build("shop-api", deps)))
    by_purl = {c["purl"]: c for c in bom["components"]}
    assert set(by_purl) == {"pkg:pypi/django@4.2.1", "pkg:pypi/pytest@8.0.0", "pkg:pypi/requests"}
    assert by_purl["pkg:pypi/pytest@8.0.0"]["scope"] == "optional"
    assert "vulnerabilities" not in bom or bom["vulnerabilities"] == []


@pytest.fixture
def scanned(db, settings, tmp_path, service):
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


@pytest.mark.django_db
def test_the_service_sbom_carries_vulnerabilities_and_vex(alice_api, scanned):
    alice_api.post(
        "/api/v1/services/shop-api/vex",
        {
            "vulnerability": "GHSA-kw06-alia-saaa",
            "state": "not_affected",
            "justification": "code_not_reachable",
            "detail": "Only used in tests.",
        },  # fmt: skip
    )
    alice_api.post("/api/v1/services/shop-api/vex", {"vulnerability": "MAL-2026-1234", "state": "affected"})
    response = alice_api.get(SBOM)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.cyclonedx+json"
    assert 'filename="shop-api.cdx.json"' in response["Content-Disposition"]
    bom = valid(response.content.decode())
    assert bom["specVersion"] == "1.6" and bom["metadata"]["component"]["name"] == "shop-api"
    assert "pkg:npm/kw-safe@3.0.0" in {c["purl"] for c in bom["components"]}
    vulns = {v["id"]: v for v in bom["vulnerabilities"]}
    assert len(bom["vulnerabilities"]) == 7
    alias = vulns["GHSA-kw06-alia-saaa"]
    assert alias["analysis"] == {
        "state": "not_affected",
        "justification": "code_not_reachable",
        "detail": "Only used in tests.",
        "firstIssued": alias["analysis"]["firstIssued"],
        "lastUpdated": alias["analysis"]["lastUpdated"],
    }
    assert {r["id"] for r in alias["references"]} >= {"CVE-2026-1111", "GHSA-kw07-alia-sbbb"}
    assert vulns["MAL-2026-1234"]["analysis"]["state"] == "exploitable"
    assert "analysis" not in vulns["GHSA-kw10-scop-eddd"]
    limit = vulns["GHSA-kw03-limi-tedd"]
    assert limit["ratings"][0] == {
        "source": {"name": "OSV", "url": "https://osv.dev"},
        "score": 7.5,
        "severity": "high",
        "method": "CVSSv31",
        "vector": "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",  # CycloneDX leaves the version to `method`
    }
    assert limit["affects"] == [{"ref": "pkg:npm/kw-limit@2.9.9"}]


@pytest.mark.django_db
def test_a_service_never_scanned_has_an_empty_but_valid_sbom(alice_api, service):
    response = alice_api.get(SBOM)
    assert response.status_code == 200
    bom = valid(response.content.decode())
    assert bom.get("components", []) == []
