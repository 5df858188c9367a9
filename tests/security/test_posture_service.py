"""Web posture of a service's monitored HTTPS URLs: grades stored, findings for poor grades, the API."""

import pytest
import trustme
from security_tls import https_server, leaf, server_context

from keepwell.core.models import Finding
from keepwell.monitoring.models import Monitor
from keepwell.security import scanning
from keepwell.security.models import PostureResult

pytestmark = pytest.mark.django_db
GOOD = [
    ("Strict-Transport-Security", "max-age=63072000"),
    ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
]


@pytest.fixture
def ca(settings):
    ca = trustme.CA()
    settings.ALLOW_PRIVATE_TARGETS = True
    with ca.cert_pem.tempfile() as path:
        settings.POSTURE_CAFILE = path
        yield ca


def monitor(service, url, **kwargs):
    return Monitor.objects.create(
        organization=service.organization, service=service, name=url, kind="http", target=url, **kwargs
    )


def test_every_monitored_https_url_is_graded_and_a_poor_grade_raises_a_finding(service, ca):
    with (
        https_server(server_context(leaf(ca)), GOOD) as good,
        https_server(server_context(leaf(ca)), []) as bare,
    ):
        monitor(service, good)
        monitor(service, bare)
        monitor(service, good.replace("https", "http"))  # plain HTTP: no posture
        monitor(service, good + "paused", paused=True)
        results = scanning.probe_service(service)
    assert sorted(r.grade for r in results) == ["A+", "D"]
    assert PostureResult.objects.count() == 2
    finding = Finding.objects.get(service=service, source="security", key__startswith="posture:")
    assert finding.title == f"Web posture of {bare}: grade D"
    assert "-25 No Content-Security-Policy header" in finding.detail
    assert finding.detail.startswith("Fix by ") and "high severity" in finding.detail


def test_a_fixed_site_clears_its_finding_and_an_unmonitored_url_is_forgotten(service, ca):
    with https_server(server_context(leaf(ca)), []) as url:
        m = monitor(service, url)
        scanning.probe_service(service)
    assert Finding.objects.get(key__startswith="posture:").state == "open"
    with https_server(server_context(leaf(ca)), GOOD) as url2:
        m.target = url2
        m.save()
        scanning.probe_service(service)
    assert list(PostureResult.objects.values_list("url", flat=True)) == [url2]
    assert Finding.objects.get(key__startswith="posture:", title__contains=url).state == "resolved"


def test_a_certificate_that_does_not_verify_is_critical(service, ca):
    other = trustme.CA()
    with https_server(server_context(leaf(other)), GOOD) as url:
        monitor(service, url)
        scanning.probe_service(service)
    assert Finding.objects.get(key__startswith="posture:").severity == "critical"


def test_the_api_lists_grades_and_checks_now(service, ca, alice_api, charlie_api):
    with https_server(server_context(leaf(ca)), GOOD) as url:
        monitor(service, url)
        response = alice_api.post("/api/v1/services/shop-api/posture/checks", {})
    assert response.status_code == 202, response.content
    assert response.json()["items"][0]["grade"] == "A+"
    listed = alice_api.get("/api/v1/services/shop-api/posture").json()
    item = listed["items"][0]
    assert (listed["count"], item["url"], item["grade"]) == (1, url, "A+")
    assert item["tls_versions"]["TLSv1.3"] is True
    assert {"test", "modifier", "text"} <= set(item["reasons"][0])
    assert charlie_api.get("/api/v1/services/shop-api/posture").status_code == 404


def test_the_daily_job_scans_local_repositories_and_grades_monitored_urls(service, acme, ca, tmp_path):
    from security_repos import make_repo

    from keepwell.core.models import Service
    from keepwell.security.models import SecretScan
    from keepwell.security.tasks import security_daily

    service.repository = str(make_repo(tmp_path / "shop"))
    service.save()
    Service.objects.create(
        organization=acme, name="Remote", slug="remote", repository="ftp://example.com/x.git"
    )
    Service.objects.create(organization=acme, name="No repo", slug="no-repo")
    with https_server(server_context(leaf(ca)), GOOD) as url:
        monitor(service, url)
        security_daily.call_local()
    # A git URL is scanned too (and this one fails, saying why); a service without a repository is not.
    assert set(SecretScan.objects.values_list("service__slug", "status")) == {
        ("shop-api", "done"),
        ("remote", "failed"),
    }
    assert PostureResult.objects.get().grade == "A+"


def test_checking_a_service_without_https_monitors_answers_an_empty_list(service, alice_api):
    response = alice_api.post("/api/v1/services/shop-api/posture/checks", {})
    assert response.status_code == 202 and response.json() == {"items": [], "count": 0}
