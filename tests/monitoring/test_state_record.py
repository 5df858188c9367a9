"""record_result: results are stored, the status moves, and findings are raised and resolved once."""

from datetime import UTC, datetime, timedelta

import pytest

from keepwell.core.models import Finding
from keepwell.monitoring.models import CheckResult, Monitor
from keepwell.monitoring.state import pause, record_result, resume
from keepwell.monitoring.transitions import FLAP_LIMIT

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def monitor(service):
    return Monitor.objects.create(
        organization=service.organization, service=service, name="Shop home", target="https://shop.example/"
    )


def finding(monitor):
    return Finding.objects.filter(
        service=monitor.service, source="monitoring", key=f"monitor:{monitor.pk}"
    ).first()


def test_it_stores_the_result_and_schedules_the_next_check(monitor):
    record_result(monitor, ok=True, latency_ms=42, status_code=200, at=T0)
    monitor.refresh_from_db()
    assert monitor.status == "up"
    assert monitor.last_checked == T0 and monitor.last_latency_ms == 42
    assert monitor.next_check_at == T0 + timedelta(seconds=60)
    result = CheckResult.objects.get(monitor=monitor)
    assert (result.ok, result.latency_ms, result.status_code, result.location) == (True, 42, 200, "local")


def test_going_down_raises_one_critical_finding_and_coming_up_resolves_it(monitor):
    record_result(monitor, ok=True, at=T0)
    record_result(monitor, ok=False, error="HTTP 500, expected 200-399.", at=T0 + timedelta(minutes=1))
    assert monitor.status == "down"
    open_finding = finding(monitor)
    assert open_finding.state == "open" and open_finding.severity == "critical"
    assert open_finding.title == "Shop home is down"
    assert "HTTP 500" in open_finding.detail
    assert open_finding.url == f"/o/acme/monitoring/monitors/{monitor.pk}/"
    record_result(monitor, ok=False, error="still", at=T0 + timedelta(minutes=2))
    assert finding(monitor).count == 1, "staying down must not count the finding again"
    record_result(monitor, ok=True, at=T0 + timedelta(minutes=3))
    assert monitor.status == "up"
    assert finding(monitor).state == "resolved"


def test_retries_hold_the_finding_until_enough_checks_fail(monitor):
    monitor.retries = 3
    monitor.save()
    record_result(monitor, ok=True, at=T0)
    for i in range(1, 3):
        record_result(monitor, ok=False, at=T0 + timedelta(minutes=i))
        assert monitor.status == "up" and finding(monitor) is None
    record_result(monitor, ok=False, at=T0 + timedelta(minutes=3))
    assert monitor.status == "down" and finding(monitor).state == "open"
    assert monitor.consecutive_failures == 3


def test_it_needs_two_locations_to_agree_before_down(monitor):
    monitor.locations_required = 2
    monitor.save()
    record_result(monitor, ok=False, location="berlin", at=T0)
    record_result(monitor, ok=True, location="tokyo", at=T0 + timedelta(seconds=5))
    assert monitor.status == "up" and finding(monitor) is None
    record_result(monitor, ok=False, location="tokyo", at=T0 + timedelta(seconds=60))
    record_result(monitor, ok=False, location="berlin", at=T0 + timedelta(seconds=65))
    assert monitor.status == "down" and finding(monitor).state == "open"


def test_a_child_of_a_down_parent_is_unreachable_and_raises_nothing(monitor, service):
    child = Monitor.objects.create(
        organization=service.organization,
        service=service,
        name="Shop checkout",
        target="https://shop.example/checkout",
        depends_on=monitor,
    )
    record_result(child, ok=False, at=T0)
    assert child.status == "down" and finding(child).state == "open"
    record_result(monitor, ok=False, at=T0 + timedelta(seconds=1))
    child.refresh_from_db()
    assert child.status == "unreachable", "the parent going down makes its down children unreachable"
    assert finding(child).state == "resolved"
    record_result(child, ok=False, at=T0 + timedelta(seconds=60))
    assert child.status == "unreachable" and finding(child).state == "resolved"
    record_result(monitor, ok=True, at=T0 + timedelta(seconds=61))
    child.refresh_from_db()
    assert child.next_check_at == T0 + timedelta(seconds=61), "children are checked again when it is back"
    record_result(child, ok=True, at=T0 + timedelta(seconds=62))
    assert child.status == "up"


def test_a_flapping_monitor_raises_one_flapping_finding_instead_of_a_stream(monitor):
    at = T0
    record_result(monitor, ok=True, at=at)
    for i in range(FLAP_LIMIT + 4):
        at += timedelta(minutes=1)
        record_result(monitor, ok=i % 2 == 1, error="timeout", at=at)
    assert monitor.flapping
    flapping = finding(monitor)
    assert flapping.title == "Shop home is flapping" and flapping.severity == "warning"
    opened_or_reopened = flapping.events.filter(kind__in=["opened", "reopened"]).count()
    resolved = flapping.events.filter(kind="resolved").count()
    assert opened_or_reopened + resolved <= FLAP_LIMIT + 1, "changes once flapping must not notify"
    state_before = flapping.state
    for _ in range(3):
        at += timedelta(minutes=1)
        record_result(monitor, ok=not monitor.status == "up", at=at)
    assert finding(monitor).state == state_before == "open"
    # Steady for two whole windows: flapping ends and the finding follows the status again.
    for _ in range(130):
        at += timedelta(minutes=1)
        record_result(monitor, ok=True, at=at)
    assert not monitor.flapping
    assert finding(monitor).state == "resolved"


def test_a_paused_monitor_keeps_its_status_and_its_finding_is_resolved(monitor):
    record_result(monitor, ok=False, at=T0)
    pause(monitor)
    assert finding(monitor).state == "resolved"
    record_result(monitor, ok=False, at=T0 + timedelta(minutes=1))
    monitor.refresh_from_db()
    assert monitor.status == "paused"
    resume(monitor)
    assert monitor.status == "pending" and not monitor.paused


def test_it_truncates_a_huge_error_text(monitor):
    record_result(monitor, ok=False, error="x" * 10_000, at=T0)
    assert len(CheckResult.objects.get(monitor=monitor).error) == 500


def test_a_whole_chain_below_a_down_monitor_becomes_unreachable(monitor, service):
    def make(name, parent):
        return Monitor.objects.create(
            organization=service.organization,
            service=service,
            name=name,
            target="https://x.example/",
            depends_on=parent,
        )

    child = make("API", None)
    grandchild = make("Checkout", None)
    record_result(grandchild, ok=False, at=T0)
    record_result(child, ok=False, at=T0)
    assert finding(grandchild).state == finding(child).state == "open"
    # The dependencies are set while both are down, as a person would after seeing the stream of alerts.
    Monitor.objects.filter(pk=child.pk).update(depends_on=monitor)
    Monitor.objects.filter(pk=grandchild.pk).update(depends_on=child)
    record_result(monitor, ok=False, at=T0 + timedelta(seconds=1))
    child.refresh_from_db()
    grandchild.refresh_from_db()
    assert child.status == grandchild.status == "unreachable"
    assert finding(grandchild).state == finding(child).state == "resolved"
    assert finding(monitor).state == "open"
