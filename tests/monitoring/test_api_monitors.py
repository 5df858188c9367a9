"""The monitors API: create, read, list with filters, change, pause, resume, delete, results and uptime."""

from datetime import timedelta

import pytest
from django.utils import timezone

from keepwell.core.models import Finding
from keepwell.monitoring.models import CheckResult, Monitor
from keepwell.monitoring.state import record_result

BASE = "/api/v1/services/shop-api/monitors"


@pytest.fixture
def monitor(service):
    return Monitor.objects.create(
        organization=service.organization, service=service, name="Shop home", target="https://shop.example/"
    )


def test_it_creates_an_http_monitor_with_the_pinned_fields(alice_api, service):
    response = alice_api.post(
        BASE, {"name": "Shop home", "kind": "http", "url": "https://shop.example/health", "interval": 60}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] and body["status"] == "pending" and body["last_checked"] is None
    assert body["url"] == body["target"] == "https://shop.example/health"
    monitor = Monitor.objects.get(pk=body["id"])
    assert monitor.service == service and monitor.organization == service.organization
    assert monitor.next_check_at <= timezone.now(), "a new monitor is checked at once"


def test_it_shows_status_and_last_checked_after_a_check(alice_api, monitor):
    record_result(monitor, ok=False, error="Connection refused: nothing listens on that port.")
    body = alice_api.get(f"{BASE}/{monitor.pk}").json()
    assert body["status"] == "down"
    assert body["last_checked"] is not None
    assert body["last_error"] == "Connection refused: nothing listens on that port."


def test_it_creates_tcp_dns_and_tls_monitors_with_their_options(alice_api, service):
    tcp = alice_api.post(BASE, {"name": "DB", "kind": "tcp", "target": "db.example.com:5432"})
    dns = alice_api.post(
        BASE,
        {
            "name": "MX",
            "kind": "dns",
            "target": "example.com",
            "config": {"record_type": "mx", "expected": "mx1"},
        },
    )
    tls = alice_api.post(BASE, {"name": "Cert", "kind": "tls", "url": "shop.example.com"})
    assert [r.status_code for r in (tcp, dns, tls)] == [201, 201, 201]
    assert dns.json()["config"] == {"record_type": "MX", "expected": "mx1"}
    assert tls.json()["target"] == "shop.example.com:443"
    assert tls.json()["config"]["days_before_expiry"] == 14


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"name": "x", "kind": "http", "url": "ftp://shop.example/"}, "must start with http:// or https://"),
        (
            {"name": "x", "kind": "http", "url": "https://shop.example/", "interval": 5},
            "greater than or equal to 20",
        ),
        (
            {"name": "x", "kind": "http", "url": "https://shop.example/", "interval": 90000},
            "less than or equal",
        ),
        ({"name": "x", "kind": "http"}, "give the target to check"),
        ({"name": "x", "kind": "tcp", "target": "db.example.com"}, "has no port"),
        ({"name": "x", "url": "https://a.example/", "config": {"colour": "red"}}, "unknown option colour"),
        (
            {"name": "x", "url": "https://a.example/", "timeout": 100, "interval": 30},
            "timeout must not be longer",
        ),
        ({"name": "x", "url": "https://a.example/", "config": {"json_path": "$..x"}}, "json_path"),
        ({"name": "x", "kind": "gopher", "url": "https://a.example/"}, "kind"),
    ],
)
def test_it_refuses_bad_input_with_a_clear_422(alice_api, service, payload, message):
    response = alice_api.post(BASE, payload)
    assert response.status_code == 422, response.content
    assert message in response.content.decode()
    assert not Monitor.objects.exists()


def test_it_refuses_a_loopback_target_by_default_and_says_how_to_allow_it(alice_api, service, settings):
    settings.ALLOW_PRIVATE_TARGETS = False
    response = alice_api.post(BASE, {"name": "Local", "url": "http://127.0.0.1:8000/"})
    assert response.status_code == 422
    assert "KEEPWELL_ALLOW_PRIVATE_TARGETS=1" in response.json()["detail"]
    settings.ALLOW_PRIVATE_TARGETS = True
    assert alice_api.post(BASE, {"name": "Local", "url": "http://127.0.0.1:8000/"}).status_code == 201


def test_it_lists_with_filters_search_and_pagination(alice_api, service):
    for i in range(5):
        Monitor.objects.create(
            organization=service.organization,
            service=service,
            name=f"Web {i}",
            target=f"https://web{i}.example/",
            status="down" if i < 2 else "up",
        )
    Monitor.objects.create(
        organization=service.organization,
        service=service,
        name="Database",
        kind="tcp",
        target="db.example:5432",
    )
    everything = alice_api.get(BASE).json()
    assert everything["count"] == 6 and everything["items"][0]["name"] == "Database"
    assert alice_api.get(BASE, {"status": "down"}).json()["count"] == 2
    assert [m["name"] for m in alice_api.get(BASE, {"kind": "tcp"}).json()["items"]] == ["Database"]
    assert alice_api.get(BASE, {"search": "web3"}).json()["count"] == 1
    page = alice_api.get(BASE, {"limit": 2, "offset": 2}).json()
    assert page["count"] == 6 and [m["name"] for m in page["items"]] == ["Web 1", "Web 2"]
    assert alice_api.get(BASE, {"status": "sideways"}).status_code == 422


def test_it_changes_only_the_fields_given(alice_api, monitor):
    response = alice_api.patch(f"{BASE}/{monitor.pk}", {"interval": 300, "config": {"keyword": "Welcome"}})
    assert response.status_code == 200, response.content
    monitor.refresh_from_db()
    assert monitor.interval == 300 and monitor.config["keyword"] == "Welcome"
    assert monitor.name == "Shop home" and monitor.target == "https://shop.example/"
    bad = alice_api.patch(f"{BASE}/{monitor.pk}", {"url": "not a url"})
    assert bad.status_code == 422
    monitor.refresh_from_db()
    assert monitor.target == "https://shop.example/"


def test_it_sets_and_clears_a_dependency_but_refuses_a_cycle(alice_api, monitor, service):
    child = Monitor.objects.create(
        organization=service.organization, service=service, name="Checkout", target="https://shop.example/c"
    )
    assert (
        alice_api.patch(f"{BASE}/{child.pk}", {"depends_on": monitor.pk}).json()["depends_on"] == monitor.pk
    )
    cycle = alice_api.patch(f"{BASE}/{monitor.pk}", {"depends_on": child.pk})
    assert cycle.status_code == 422 and "cannot depend on itself" in cycle.json()["detail"]
    assert alice_api.patch(f"{BASE}/{child.pk}", {"depends_on": None}).json()["depends_on"] is None


def test_it_refuses_a_dependency_on_another_organizations_monitor(alice_api, monitor, other_org):
    from keepwell.core.models import Service

    theirs = Service.objects.create(organization=other_org, name="Theirs", slug="theirs")
    foreign = Monitor.objects.create(
        organization=other_org, service=theirs, name="F", target="https://f.example/"
    )
    response = alice_api.patch(f"{BASE}/{monitor.pk}", {"depends_on": foreign.pk})
    assert (
        response.status_code == 422
        and f"no monitor {foreign.pk} in this organization" in response.json()["detail"]
    )


def test_it_pauses_and_resumes(alice_api, monitor):
    record_result(monitor, ok=False)
    paused = alice_api.post(f"{BASE}/{monitor.pk}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused" and paused.json()["paused"]
    assert Finding.objects.get(key=f"monitor:{monitor.pk}").state == "resolved"
    resumed = alice_api.post(f"{BASE}/{monitor.pk}/resume").json()
    assert resumed["status"] == "pending" and not resumed["paused"]


def test_it_deletes_a_monitor_and_resolves_its_finding(alice_api, monitor):
    record_result(monitor, ok=False)
    assert alice_api.delete(f"{BASE}/{monitor.pk}").status_code == 204
    assert not Monitor.objects.filter(pk=monitor.pk).exists()
    assert Finding.objects.get(key=f"monitor:{monitor.pk}").state == "resolved"
    assert alice_api.get(f"{BASE}/{monitor.pk}").status_code == 404


def test_it_lists_results_newest_first_with_filters(alice_api, monitor):
    now = timezone.now()
    record_result(monitor, ok=True, latency_ms=80, at=now - timedelta(minutes=2))
    record_result(
        monitor, ok=False, error="HTTP 502, expected 200-399.", status_code=502, at=now - timedelta(minutes=1)
    )
    body = alice_api.get(f"{BASE}/{monitor.pk}/results").json()
    assert body["count"] == 2
    assert [r["ok"] for r in body["items"]] == [False, True]
    assert body["items"][0]["status_code"] == 502 and "HTTP 502" in body["items"][0]["error"]
    assert alice_api.get(f"{BASE}/{monitor.pk}/results", {"ok": "true"}).json()["count"] == 1


def test_it_answers_daily_uptime_and_latency(alice_api, monitor):
    now = timezone.now()
    for i, (ok, latency) in enumerate([(True, 100), (True, 200), (False, None), (True, 300)]):
        CheckResult.objects.create(
            monitor=monitor, checked_at=now - timedelta(seconds=i), ok=ok, latency_ms=latency
        )
    body = alice_api.get(f"{BASE}/{monitor.pk}/uptime", {"days": 7}).json()
    assert len(body["days"]) == 7
    today = body["days"][-1]
    assert (today["checks"], today["failures"], today["uptime"]) == (4, 1, 75.0)
    assert (today["p50"], today["p95"]) == (200, 300)
    assert body["uptime"] == 75.0 and body["days"][0]["uptime"] is None
    assert alice_api.get(f"{BASE}/{monitor.pk}/uptime", {"days": 0}).status_code == 422


def test_a_read_only_token_reads_but_may_not_change(alice_api_readonly, monitor):
    assert alice_api_readonly.get(f"{BASE}/{monitor.pk}").status_code == 200
    assert alice_api_readonly.post(f"{BASE}/{monitor.pk}/pause").status_code == 403
    assert alice_api_readonly.post(BASE, {"name": "x", "url": "https://a.example/"}).status_code == 403


def test_a_viewer_may_not_create_monitors(victor, acme, service):
    from conftest import ApiClient
    from keepwell.core.models import ApiToken

    _, token = ApiToken.issue(acme, victor, write=True)
    response = ApiClient(token).post(BASE, {"name": "x", "url": "https://a.example/"})
    assert response.status_code == 403 and "viewer" in response.json()["detail"]


def test_another_organization_sees_none_of_it(charlie_api, monitor):
    assert charlie_api.get(f"{BASE}/{monitor.pk}").status_code == 404
    assert charlie_api.get(BASE).status_code == 404
    assert charlie_api.delete(f"{BASE}/{monitor.pk}").status_code == 404
    assert Monitor.objects.filter(pk=monitor.pk).exists()


def test_it_answers_404_for_a_monitor_of_another_service(alice_api, monitor, acme):
    from keepwell.core.models import Service

    Service.objects.create(organization=acme, name="Blog", slug="blog")
    assert alice_api.get(f"/api/v1/services/blog/monitors/{monitor.pk}").status_code == 404


def test_it_creates_a_paused_monitor_when_asked(alice_api, service):
    body = alice_api.post(BASE, {"name": "Later", "url": "https://a.example/", "paused": True}).json()
    assert body["paused"] and body["status"] == "paused"


def test_changing_the_kind_drops_the_options_of_the_old_kind(alice_api, monitor):
    alice_api.patch(f"{BASE}/{monitor.pk}", {"config": {"keyword": "Welcome"}})
    response = alice_api.patch(f"{BASE}/{monitor.pk}", {"kind": "tcp", "target": "shop.example:443"})
    assert response.status_code == 200, response.content
    assert response.json()["config"] == {} and response.json()["url"] is None


def test_it_refuses_a_body_that_is_not_an_object_or_has_a_nul(alice_api, service):
    assert alice_api.post(BASE, ["not", "an", "object"]).status_code == 400
    response = alice_api.post(
        BASE, {"name": "x", "url": "https://a.example/", "config": {"body": "a\u0000b"}}
    )
    assert response.status_code == 422 and "NUL" in response.json()["detail"]
