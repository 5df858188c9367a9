"""VEX decisions from the service security page: recorded with the API's rules, applied to the finding,
guarded like the other actions."""

import shutil

import pytest
from django.test import Client
from django.urls import reverse
from osv_data import DATA, NPM_ADVISORIES

from keepwell.core.models import Finding
from keepwell.security import vulnerabilities
from keepwell.security.models import ServiceVulnerability, VexDecision
from keepwell.security.osv import build

pytestmark = pytest.mark.django_db
PAGE = reverse("security-service", args=["acme", "shop-api"])


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


@pytest.fixture
def row(scanned):
    return ServiceVulnerability.objects.get(service=scanned, package="kw-alias")


def vex_url(row):
    return reverse("security-vulnerability-vex", args=["acme", "shop-api", row.pk])


def finding_of(row):
    return Finding.objects.get(service=row.service, source="security", key=row.finding_key)


def test_the_page_offers_a_vex_form_for_open_vulnerabilities(row, alice_client):
    page = alice_client.get(PAGE).content.decode()
    assert vex_url(row) in page
    assert 'value="code_not_reachable"' in page and "csrfmiddlewaretoken" in page


def test_alice_records_not_affected_and_the_finding_resolves(row, alice_client):
    assert finding_of(row).state == "open"
    response = alice_client.post(
        vex_url(row),
        {"state": "not_affected", "justification": "code_not_reachable", "detail": "Never parses requests."},
        follow=True,
    )
    assert response.status_code == 200
    decision = VexDecision.objects.get(service=row.service)
    assert (decision.vulnerability, decision.package) == (row.osv_id, "kw-alias")
    assert (decision.state, decision.justification) == ("not_affected", "code_not_reachable")
    assert decision.author.email == "alice@example.org"
    row.refresh_from_db()
    assert row.state == "not_affected" and finding_of(row).state == "resolved"
    page = response.content.decode()
    assert "Decided by alice@example.org" in page and "Never parses requests." in page
    assert vex_url(row) not in page  # no longer open: no form


def test_a_missing_justification_is_explained_and_nothing_is_stored(row, alice_client):
    response = alice_client.post(vex_url(row), {"state": "not_affected", "detail": "trust me"}, follow=True)
    assert response.status_code == 200
    assert "not_affected needs a justification" in response.content.decode()
    assert not VexDecision.objects.exists()
    row.refresh_from_db()
    assert row.state == "affected" and finding_of(row).state == "open"


def test_a_viewer_gets_403(row, victor):
    client = Client()
    client.force_login(victor)
    assert vex_url(row) not in client.get(PAGE).content.decode()
    response = client.post(vex_url(row), {"state": "not_affected", "justification": "code_not_reachable"})
    assert response.status_code == 403
    assert not VexDecision.objects.exists()


def test_another_organization_gets_404(row, charlie_client):
    response = charlie_client.post(
        vex_url(row), {"state": "not_affected", "justification": "code_not_reachable"}
    )
    assert response.status_code == 404
    assert not VexDecision.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(row, client):
    response = client.get(vex_url(row))
    assert response.status_code == 302 and "login" in response["Location"]
    assert client.post(vex_url(row), {"state": "affected"}).status_code == 302
    assert not VexDecision.objects.exists()
