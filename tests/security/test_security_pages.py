"""The security pages: the organization's (overdue first, what is affected where) and the service's
(vulnerabilities by severity, secrets masked, posture grades with reasons), their actions and their guards."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from security_repos import AWS_KEY_ID, AWS_SECRET, make_repo

from keepwell.core import scorecard
from keepwell.core.models import Finding, Service
from keepwell.security import findings
from keepwell.security.models import AcceptedSecret, PostureResult, SecretFinding, ServiceVulnerability

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanned(service, tmp_path, alice_client):
    service.repository = str(make_repo(tmp_path / "shop"))
    service.save()
    response = alice_client.post(reverse("security-scan", args=["acme", "shop-api"]), {"what": "secrets"})
    assert response.status_code == 302
    return service


def test_the_service_page_shows_secrets_masked_and_never_their_values(scanned, alice_client):
    page = alice_client.get(reverse("security-service", args=["acme", "shop-api"])).content.decode()
    assert "AKIA•••• (20 characters)" in page
    assert "config.py:1" in page and "Private Key" in page
    assert AWS_KEY_ID not in page and AWS_SECRET not in page


def test_accepting_a_secret_on_the_page_moves_it_to_the_baseline(scanned, alice_client):
    row = SecretFinding.objects.get(type="Private Key")
    url = reverse("security-secret-accept", args=["acme", "shop-api", row.pk])
    response = alice_client.post(url, {"reason": "a test fixture"})
    assert response.status_code == 302
    assert AcceptedSecret.objects.get(fingerprint=row.fingerprint).reason == "a test fixture"
    page = alice_client.get(reverse("security-service", args=["acme", "shop-api"])).content.decode()
    assert "accepted (in the baseline)" in page


def test_the_service_page_lists_vulnerabilities_by_severity_with_fixed_in_and_vex_state(
    service, alice_client
):
    common = {"organization": service.organization, "service": service, "ecosystem": "PyPI"}
    ServiceVulnerability.objects.create(package="django", version="4.2.0", osv_id="GHSA-1111", severity="critical",
                                        fixed_in="4.2.1", source_file="requirements.txt", source_line=3,
                                        **common)  # fmt: skip
    ServiceVulnerability.objects.create(package="jinja2", version="3.0.0", osv_id="GHSA-2222", severity="low",
                                        state="not_affected", **common)  # fmt: skip
    page = alice_client.get(reverse("security-service", args=["acme", "shop-api"])).content.decode()
    assert page.index("GHSA-1111") < page.index("GHSA-2222")  # critical before low
    assert "<code>4.2.1</code>" in page and "requirements.txt:3" in page
    assert "Not affected (VEX)" in page


def test_the_service_page_shows_posture_grades_with_reasons(service, alice_client):
    PostureResult.objects.create(
        organization=service.organization, service=service, url="https://shop.example.com/",
        url_hash=PostureResult.hash_url("https://shop.example.com/"), score=55, grade="C",
        reasons=[{"test": "csp", "modifier": -25, "text": "No Content-Security-Policy header <b>x</b>."}],
    )  # fmt: skip
    page = alice_client.get(reverse("security-service", args=["acme", "shop-api"])).content.decode()
    assert "https://shop.example.com/" in page and ">C<" in page
    assert "No Content-Security-Policy header &lt;b&gt;x&lt;/b&gt;." in page  # escaped


def test_the_organization_page_puts_overdue_findings_first(service, acme, alice_client):
    other = Service.objects.create(organization=acme, name="Billing", slug="billing")
    findings.report(other, key="vuln:1", title="fresh critical", severity="critical")
    findings.report(service, key="vuln:2", title="old low", severity="low",
                    first_seen=timezone.now() - timedelta(days=200))  # fmt: skip
    page = alice_client.get(reverse("security", args=["acme"])).content.decode()
    assert page.index("Overdue: old low") < page.index("fresh critical")
    assert "1 overdue" in page and "Overdue since" in page


def test_a_viewer_sees_the_pages_but_cannot_scan_or_accept(scanned, victor):
    client = Client()
    client.force_login(victor)
    assert client.get(reverse("security", args=["acme"])).status_code == 200
    page = client.get(reverse("security-service", args=["acme", "shop-api"])).content.decode()
    assert "Scan for secrets" not in page
    assert (
        client.post(reverse("security-scan", args=["acme", "shop-api"]), {"what": "secrets"}).status_code
        == 403
    )
    row = SecretFinding.objects.first()
    url = reverse("security-secret-accept", args=["acme", "shop-api", row.pk])
    assert client.post(url).status_code == 403


def test_another_organizations_member_gets_404_everywhere(scanned, charlie_client):
    row = SecretFinding.objects.first()
    for url in (reverse("security", args=["acme"]), reverse("security-service", args=["acme", "shop-api"])):
        assert charlie_client.get(url).status_code == 404
    assert (
        charlie_client.post(reverse("security-secret-accept", args=["acme", "shop-api", row.pk])).status_code
        == 404
    )


def test_an_unknown_scan_kind_is_explained(scanned, alice_client):
    response = alice_client.post(
        reverse("security-scan", args=["acme", "shop-api"]), {"what": "x"}, follow=True
    )
    assert "Choose what to scan" in response.content.decode()


def test_the_scorecard_is_honest(service, alice_client):
    assert scorecard.status("security", service).state == "not set up"
    findings.report(service, key="vuln:1", title="t", severity="medium")
    assert scorecard.status("security", service).state == "attention"
    findings.report(
        service, key="vuln:2", title="t", severity="low", first_seen=timezone.now() - timedelta(days=365)
    )
    state = scorecard.status("security", service)
    assert state.state == "failing" and "past the fix-by date" in state.reason
    findings.clear(service, key="vuln:1")
    findings.clear(service, key="vuln:2")
    assert scorecard.status("security", service).state == "ok"
    assert Finding.objects.filter(source="security", state="resolved").count() == 2


def test_the_organization_page_counts_open_vulnerabilities_by_severity_per_service(service, alice_client):
    common = {
        "organization": service.organization,
        "service": service,
        "ecosystem": "npm",
        "version": "1.0.0",
    }
    for i, severity in enumerate(["critical", "high", "high"]):
        ServiceVulnerability.objects.create(package=f"p{i}", osv_id=f"GHSA-{i}", severity=severity, **common)
    ServiceVulnerability.objects.create(
        package="q", osv_id="GHSA-9", severity="critical", state="fixed", **common
    )
    page = alice_client.get(reverse("security", args=["acme"])).content.decode()
    assert "1 critical, 2 high" in page


def test_a_clean_secrets_scan_counts_as_set_up_and_ok(service, tmp_path):
    from keepwell.security import scanning

    (tmp_path / "clean").mkdir()
    (tmp_path / "clean" / "app.py").write_text("print('hello')\n")
    service.repository = str(tmp_path / "clean")
    service.save()
    scanning.scan_secrets(service)
    status = scorecard.status("security", service)
    assert (status.state, status.reason) == ("ok", "No open security findings.")
    assert status.url == "/o/acme/security/services/shop-api/"


def test_the_organization_page_orders_by_severity_after_overdue_and_copes_without_dates(
    service, alice_client
):
    from keepwell.core.findings import raise_finding

    findings.report(service, key="vuln:low", title="a low one", severity="low")
    findings.report(service, key="vuln:crit", title="a critical one", severity="critical")
    raise_finding(service, source="security", key="legacy", title="no date at all", severity="warning")
    page = alice_client.get(reverse("security", args=["acme"])).content.decode()
    assert page.index("a critical one") < page.index("no date at all") < page.index("a low one")
