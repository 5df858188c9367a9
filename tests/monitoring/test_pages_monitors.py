"""The uptime monitor pages: the list (down first, filters, search, pages), create and edit with every kind,
pause, resume, delete, and a monitor's page with its latency chart, uptime bar and recent checks."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from keepwell.core.findings import raise_finding
from keepwell.core.models import Finding, Service
from keepwell.monitoring import state
from keepwell.monitoring.models import CheckResult, Monitor

pytestmark = pytest.mark.django_db


def _monitor(service, name, status=Monitor.Status.UP, kind="http", target="https://shop.example.com/health"):
    return Monitor.objects.create(
        organization=service.organization, service=service, name=name, kind=kind, target=target, status=status
    )


def _list(client, **params):
    response = client.get(reverse("monitors", args=["acme"]), params)
    assert response.status_code == 200
    return response.text


def _form(**fields):
    data = {
        "name": "Shop health",
        "kind": "http",
        "target": "https://shop.example.com/health",
        "interval": "1m",
        "timeout": "10s",
        "retries": "2",
        "locations_required": "1",
        "method": "GET",
        "follow_redirects": "on",
        "record_type": "A",
        "check_hostname": "on",
        "check_chain": "on",
    }
    data.update(fields)
    return data


@pytest.fixture
def client_for(db):
    def make(user):
        c = Client()
        c.force_login(user)
        return c

    return make


# --- The list -------------------------------------------------------------------------------------------------


def test_it_says_what_a_monitor_is_when_there_are_none(alice_client, service):
    html = _list(alice_client)
    assert "No uptime monitors yet" in html
    assert reverse("heartbeats", args=["acme"]) in html
    assert reverse("monitor-new", args=["acme"]) in html


def test_it_lists_down_monitors_first(alice_client, service):
    _monitor(service, "Alpha up")
    _monitor(service, "Beta paused", Monitor.Status.PAUSED)
    _monitor(service, "Omega down", Monitor.Status.DOWN)
    _monitor(service, "Gamma unreachable", Monitor.Status.UNREACHABLE)
    html = _list(alice_client)
    order = [html.index(n) for n in ("Omega down", "Gamma unreachable", "Alpha up", "Beta paused")]
    assert order == sorted(order)


@pytest.mark.parametrize(
    "params, shown, hidden",
    [
        ({"service": "web"}, ["Web home"], ["Shop health"]),
        ({"status": "down"}, ["Shop DNS"], ["Shop health", "Web home"]),
        ({"kind": "dns"}, ["Shop DNS"], ["Shop health"]),
        ({"q": "home"}, ["Web home"], ["Shop health", "Shop DNS"]),
        ({"q": "shop.example.com/health"}, ["Shop health"], ["Web home"]),
        ({"status": "nonsense", "kind": "nonsense"}, ["Shop health", "Web home", "Shop DNS"], []),
    ],
)
def test_it_filters_and_searches_the_list(alice_client, service, acme, params, shown, hidden):
    web = Service.objects.create(organization=acme, name="Web", slug="web")
    _monitor(service, "Shop health")
    _monitor(service, "Shop DNS", Monitor.Status.DOWN, kind="dns", target="shop.example.com")
    _monitor(web, "Web home", target="https://www.example.com/")
    html = _list(alice_client, **params)
    for name in shown:
        assert name in html
    for name in hidden:
        assert name not in html


def test_it_pages_through_thousands_of_monitors(alice_client, service, django_assert_max_num_queries):
    Monitor.objects.bulk_create(
        Monitor(
            organization=service.organization, service=service, name=f"m{i:04d}", target="https://x.example/"
        )
        for i in range(1234)
    )
    with django_assert_max_num_queries(10):
        first = _list(alice_client)
    assert "Page 1 of 25" in first and "1234 in all" in first
    assert len(re.findall(r'href="/o/acme/monitoring/monitors/\d+/"', first)) == 50
    last = _list(alice_client, page=25)
    assert "m1233" in last and "m1199" not in last


@pytest.mark.parametrize(
    "params",
    [
        {"q": "\x00drop"},
        {"q": "x" * 100_000},
        {"page": "-1"},
        {"page": "abc"},
        {"page": "99999999999999999999"},
        {"service": "<script>"},
        {"status": "'; DROP TABLE"},
    ],
)
def test_it_answers_hostile_list_parameters_without_error(alice_client, service, params):
    _monitor(service, "Shop health")
    html = _list(alice_client, **params)
    assert "<script>" not in html.split("<main", 1)[1]


def test_a_viewer_sees_the_list_but_no_add_button(client_for, victor, service):
    _monitor(service, "Shop health")
    client = client_for(victor)
    html = _list(client)
    assert "Shop health" in html and "Add a monitor" not in html
    assert client.post(reverse("monitor-new", args=["acme"]), _form(service=service.pk)).status_code == 403
    assert (
        not Monitor.objects.filter(name="Shop health", kind="http").exclude(target__contains="shop").exists()
    )


def test_another_organization_sees_nothing(charlie_client, service):
    monitor = _monitor(service, "Zeppelin health")
    assert charlie_client.get(reverse("monitors", args=["acme"])).status_code == 404
    assert charlie_client.get(reverse("monitor", args=["globex", monitor.pk])).status_code == 404
    response = charlie_client.post(reverse("monitor-pause", args=["globex", monitor.pk]))
    assert response.status_code == 404
    assert Monitor.objects.get(pk=monitor.pk).paused is False


# --- Create and edit --------------------------------------------------------------------------------------------


def test_it_creates_an_http_monitor_with_its_options(alice_client, service):
    response = alice_client.post(
        reverse("monitor-new", args=["acme"]),
        _form(
            service=service.pk,
            method="POST",
            headers="Authorization: Bearer s3cret\nAccept: application/json",
            body='{"ping": true}',
            expected_statuses="2xx, 301, 400-404",
            keyword="healthy",
            keyword_absent="Maintenance",
            json_path="$.status",
            json_expected="true",
            max_response_ms="1500",
            interval="5m",
        ),
    )
    monitor = Monitor.objects.get(name="Shop health")
    assert response.status_code == 302 and response["Location"] == reverse(
        "monitor", args=["acme", monitor.pk]
    )
    assert (monitor.interval, monitor.timeout, monitor.retries) == (300, 10, 2)
    assert monitor.config["method"] == "POST"
    assert monitor.config["headers"] == {"Authorization": "Bearer s3cret", "Accept": "application/json"}
    assert monitor.config["expected_statuses"] == ["2xx", 301, "400-404"]
    assert monitor.config["keyword_absent"] == "Maintenance"
    assert monitor.config["json_expected"] is True
    assert monitor.config["max_response_ms"] == 1500


def test_it_offers_the_service_chosen_in_the_address(alice_client, service, acme):
    Service.objects.create(organization=acme, name="Another", slug="another")
    html = alice_client.get(reverse("monitor-new", args=["acme"]), {"service": "shop-api"}).text
    assert re.search(rf'<option value="{service.pk}" selected>Shop API</option>', html)


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"target": "ftp://shop.example.com/"}, "target", ""),
        ({"kind": "tcp", "target": "shop.example.com"}, "target", "port"),
        ({"kind": "tls", "target": "https://shop.example.com/"}, "target", "not a URL"),
        ({"interval": "5s"}, "interval", "Choose between 20s and 1d"),
        ({"interval": "2 fortnights"}, "interval", "is not a unit"),
        ({"timeout": "2m", "interval": "1m"}, "timeout", "shorter than the interval"),
        ({"headers": "not a header line"}, "headers", "Line 1 is not a header"),
        ({"expected_statuses": "700"}, "expected_statuses", "is not a status code"),
        ({"json_path": "$..[", "json_expected": "ok"}, "json_path", ""),
        ({"retries": "0"}, "retries", ""),
        ({"kind": "dns", "target": "shop.example.com", "nameserver": "not-an-ip"}, "nameserver", "IP"),
        ({"name": ""}, "name", "required"),
        ({"name": "\x00"}, "name", "Null characters are not allowed"),
        ({"target": "https://shop.example.com/" + "a" * 5000}, "target", "at most 2000"),
        ({"headers": "".join(f"X-H{i}: v\n" for i in range(60))}, "headers", "at most 50 headers"),
        ({"body": "x" * 70_000}, "body", "at most 64000"),
        ({"kind": "<script>"}, "kind", "not one of the available choices"),
        ({"service": "999999"}, "service", "not one of the available choices"),
    ],
)
def test_it_explains_what_is_wrong_with_a_monitor(alice_client, service, fields, field, message):
    response = alice_client.post(
        reverse("monitor-new", args=["acme"]), _form(**{"service": service.pk, **fields})
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors, "the form was accepted"
    text = " ".join(errors.get(field, []) + errors.get("__all__", []))
    assert text, f"no error on {field}: {errors}"
    assert message in text
    assert not Monitor.objects.exists()


@pytest.mark.parametrize(
    "fields, target, config",
    [
        ({"kind": "tcp", "target": "db.example.com:5432"}, "db.example.com:5432", {}),
        (
            {
                "kind": "dns",
                "target": "shop.example.com",
                "record_type": "MX",
                "expected": "mail.example.com",
            },
            "shop.example.com",
            {"record_type": "MX", "expected": "mail.example.com"},
        ),
        (
            {"kind": "tls", "target": "shop.example.com", "days_before_expiry": "21", "check_chain": ""},
            "shop.example.com:443",
            {"days_before_expiry": 21, "check_hostname": True, "check_chain": False},
        ),
    ],
)
def test_it_creates_tcp_dns_and_tls_monitors(alice_client, service, fields, target, config):
    alice_client.post(reverse("monitor-new", args=["acme"]), _form(service=service.pk, **fields))
    monitor = Monitor.objects.get()
    assert monitor.kind == fields["kind"] and monitor.target == target
    assert monitor.config == config


def test_it_edits_a_monitor_keeping_its_options(alice_client, service):
    monitor = _monitor(service, "Shop health")
    monitor.config = {"method": "HEAD", "headers": {"X-Probe": "keepwell"}, "expected_statuses": [200, "3xx"]}
    monitor.save()
    form = alice_client.get(reverse("monitor-edit", args=["acme", monitor.pk])).context["form"]
    assert form.initial["headers"] == "X-Probe: keepwell"
    assert form.initial["expected_statuses"] == "200, 3xx"
    data = {k: v for k, v in form.initial.items() if v is not None and k != "depends_on"}
    data.update(_form(service=service.pk, name="Shop health (edited)", method="HEAD"))
    data.update(headers=form.initial["headers"], expected_statuses=form.initial["expected_statuses"])
    response = alice_client.post(reverse("monitor-edit", args=["acme", monitor.pk]), data)
    assert response.status_code == 302
    monitor.refresh_from_db()
    assert monitor.name == "Shop health (edited)"
    assert monitor.config["headers"] == {"X-Probe": "keepwell"}
    assert monitor.config["expected_statuses"] == [200, "3xx"]


def test_it_refuses_a_dependency_that_loops_back(alice_client, service):
    parent = _monitor(service, "Database")
    child = _monitor(service, "Shop")
    child.depends_on = parent
    child.save()
    response = alice_client.post(
        reverse("monitor-edit", args=["acme", parent.pk]), _form(service=service.pk, depends_on=child.pk)
    )
    assert "cannot depend on itself" in " ".join(response.context["form"].errors["depends_on"])
    assert Monitor.objects.get(pk=parent.pk).depends_on is None


def test_it_refuses_a_dependency_on_another_organizations_monitor(alice_client, service, charlie, other_org):
    theirs = Service.objects.create(organization=other_org, name="Theirs", slug="theirs")
    foreign = _monitor(theirs, "Their monitor")
    response = alice_client.post(
        reverse("monitor-new", args=["acme"]), _form(service=service.pk, depends_on=foreign.pk)
    )
    assert "depends_on" in response.context["form"].errors
    assert not Monitor.objects.filter(organization__slug="acme").exists()


def test_with_hundreds_of_monitors_a_dependency_is_given_by_its_number(alice_client, service):
    Monitor.objects.bulk_create(
        Monitor(organization=service.organization, service=service, name=f"m{i}", target="https://x.example/")
        for i in range(301)
    )
    parent = Monitor.objects.get(name="m7")
    html = alice_client.get(reverse("monitor-new", args=["acme"])).text
    assert re.search(r'<input type="number" name="depends_on"', html) and "m299" not in html
    alice_client.post(reverse("monitor-new", args=["acme"]), _form(service=service.pk, depends_on=parent.pk))
    assert Monitor.objects.get(name="Shop health").depends_on == parent
    response = alice_client.post(
        reverse("monitor-new", args=["acme"]), _form(service=service.pk, depends_on="999999")
    )
    assert "no other monitor with that number" in " ".join(response.context["form"].errors["depends_on"])


def test_editing_the_target_checks_again_at_once(alice_client, service):
    monitor = _monitor(service, "Shop health")
    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=timezone.now() + timedelta(hours=1))
    alice_client.post(
        reverse("monitor-edit", args=["acme", monitor.pk]),
        _form(service=service.pk, target="https://shop.example.com/ready"),
    )
    monitor.refresh_from_db()
    assert monitor.target == "https://shop.example.com/ready"
    assert monitor.next_check_at <= timezone.now()


def test_it_asks_for_a_service_before_the_first_monitor(alice_client):
    html = alice_client.get(reverse("monitor-new", args=["acme"])).text
    assert "Add a service first" in html


# --- Pause, resume, delete ---------------------------------------------------------------------------------------


def test_pausing_stops_alerts_and_resolves_the_finding(alice_client, service):
    monitor = _monitor(service, "Shop health", Monitor.Status.DOWN)
    raise_finding(service, source="monitoring", key=f"monitor:{monitor.pk}", title="Shop health is down")
    response = alice_client.post(reverse("monitor-pause", args=["acme", monitor.pk]), {"action": "pause"})
    assert response.status_code == 302
    monitor.refresh_from_db()
    assert monitor.paused and monitor.status == "paused"
    assert Finding.objects.get(key=f"monitor:{monitor.pk}").state == "resolved"
    alice_client.post(reverse("monitor-pause", args=["acme", monitor.pk]), {"action": "resume"})
    monitor.refresh_from_db()
    assert not monitor.paused and monitor.status == "pending"


def test_pausing_needs_a_post(alice_client, service):
    monitor = _monitor(service, "Shop health")
    assert alice_client.get(reverse("monitor-pause", args=["acme", monitor.pk])).status_code == 405


def test_it_asks_before_deleting_a_monitor(alice_client, service):
    monitor = _monitor(service, "Shop health")
    child = _monitor(service, "Shop checkout")
    child.depends_on = monitor
    child.save()
    html = alice_client.get(reverse("monitor-delete", args=["acme", monitor.pk])).text
    assert "Delete the monitor Shop health?" in html and "1 monitor depends on it" in html
    assert Monitor.objects.filter(pk=monitor.pk).exists()
    response = alice_client.post(reverse("monitor-delete", args=["acme", monitor.pk]))
    assert response["Location"] == reverse("monitors", args=["acme"])
    assert not Monitor.objects.filter(pk=monitor.pk).exists()
    assert Monitor.objects.get(pk=child.pk).depends_on is None


# --- A monitor's page ---------------------------------------------------------------------------------------------


def test_the_monitor_page_shows_state_latency_uptime_and_recent_checks(alice_client, service):
    monitor = _monitor(service, "Shop health", Monitor.Status.PENDING)
    now = timezone.now()
    for minutes in range(120, 0, -5):
        state.record_result(
            monitor, ok=True, latency_ms=100 + minutes, status_code=200, at=now - timedelta(minutes=minutes)
        )
    state.record_result(
        monitor, ok=False, status_code=500, error="Expected 2xx, got 500 <script>alert(1)</script>", at=now
    )
    CheckResult.objects.create(monitor=monitor, ok=True, latency_ms=80, checked_at=now - timedelta(days=3))
    html = alice_client.get(reverse("monitor", args=["acme", monitor.pk])).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert '<polyline class="latency-line"' in html
    assert '<rect class="fail-span"' in html
    bars = re.findall(r'<rect class="(day-[a-z]+)"', html)
    assert len(bars) == 90
    assert bars[-1] in ("day-minor", "day-partial", "day-major") and bars[-4] == "day-up"
    assert "no data" in html
    assert html.count("<time datetime=") >= 25
    assert ' style="' not in html


def test_the_monitor_page_says_when_there_are_no_checks_yet(alice_client, service):
    monitor = _monitor(service, "Shop health", Monitor.Status.PENDING)
    html = alice_client.get(reverse("monitor", args=["acme", monitor.pk])).text
    assert "No checks in the last 24 hours yet." in html
    assert "No checks yet." in html


def test_the_monitor_page_links_the_open_finding_and_the_dependency(alice_client, service):
    parent = _monitor(service, "Database", Monitor.Status.DOWN)
    monitor = _monitor(service, "Shop health", Monitor.Status.UNREACHABLE)
    monitor.depends_on = parent
    monitor.save()
    finding = raise_finding(
        service, source="monitoring", key=f"monitor:{parent.pk}", title="Database is down"
    )
    html = alice_client.get(reverse("monitor", args=["acme", parent.pk])).text
    assert reverse("finding", args=["acme", finding.pk]) in html
    assert "Depended on by" in html and "Shop health" in html
    html = alice_client.get(reverse("monitor", args=["acme", monitor.pk])).text
    assert "Depends on" in html and reverse("monitor", args=["acme", parent.pk]) in html


def test_the_monitoring_tab_is_in_the_organization_bar(alice_client, service):
    html = alice_client.get(reverse("monitors", args=["acme"])).text
    assert re.search(r'<a href="/o/acme/monitoring/" aria-current="page">Monitoring</a>', html)
    html = alice_client.get(reverse("service", args=["acme", service.slug])).text
    assert "/o/acme/monitoring/?service=shop-api" in html
