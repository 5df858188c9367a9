"""GET /api/v1/findings, raising a finding from outside, and acknowledge/resolve/snooze."""

from datetime import timedelta

import pytest
from django.utils import timezone

from keepwell.core import findings
from keepwell.core.models import AuditEvent, Finding, Service


@pytest.fixture
def down(service):
    return findings.raise_finding(
        service, source="monitoring", key="m:1", title="Shop is down", severity="critical"
    )


def test_it_lists_findings_filtered_by_service_and_state(alice_api, service, down, acme):
    other = Service.objects.create(organization=acme, name="Web", slug="web")
    findings.raise_finding(other, source="security", key="cve", title="Old TLS", severity="warning")
    resolved = findings.raise_finding(
        service, source="docs", key="stale", title="Stale page", severity="info"
    )
    findings.resolve(resolved)
    body = alice_api.get("/api/v1/findings?service=shop-api&state=open").json()
    assert body["count"] == 1
    item = body["items"][0]
    assert {k: item[k] for k in ("service", "source", "key", "severity", "state", "title", "count")} == {
        "service": "shop-api",
        "source": "monitoring",
        "key": "m:1",
        "severity": "critical",
        "state": "open",
        "title": "Shop is down",
        "count": 1,
    }
    assert alice_api.get("/api/v1/findings?severity=warning").json()["items"][0]["title"] == "Old TLS"
    assert alice_api.get("/api/v1/findings?source=docs").json()["items"][0]["state"] == "resolved"
    assert alice_api.get("/api/v1/findings").json()["count"] == 3


def test_it_refuses_an_unknown_state_filter(alice_api):
    response = alice_api.get("/api/v1/findings?state=closed")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("state:")


def test_it_answers_404_for_an_unknown_service_filter(alice_api):
    assert alice_api.get("/api/v1/findings?service=nope").status_code == 404


def test_it_raises_a_finding_from_a_script(alice_api, service):
    payload = {
        "service": "shop-api",
        "source": "ci",
        "key": "build",
        "title": "Build broken",
        "severity": "warning",
    }
    first = alice_api.post("/api/v1/findings", payload)
    assert first.status_code == 201
    second = alice_api.post("/api/v1/findings", payload).json()
    assert second["id"] == first.json()["id"]
    assert second["count"] == 2
    assert Finding.objects.get().source == "ci"


def test_it_refuses_to_raise_a_finding_on_another_orgs_service(charlie_api, service):
    payload = {"service": "shop-api", "source": "ci", "key": "x", "title": "Injected"}
    assert charlie_api.post("/api/v1/findings", payload).status_code == 404
    assert not Finding.objects.exists()


def test_it_acknowledges_then_resolves_a_finding(alice_api, alice, down):
    response = alice_api.post(f"/api/v1/findings/{down.pk}/acknowledge")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["acknowledged_by"]) == ("acknowledged", alice.email)
    assert alice_api.post(f"/api/v1/findings/{down.pk}/acknowledge").status_code == 200
    assert alice_api.post(f"/api/v1/findings/{down.pk}/resolve").json()["state"] == "resolved"
    assert alice_api.post(f"/api/v1/findings/{down.pk}/acknowledge").status_code == 409
    actions = list(AuditEvent.objects.filter(object_type="core.finding").values_list("action", "actor"))
    assert sorted(actions) == [("acknowledge", alice.pk), ("resolve", alice.pk)]


def test_it_snoozes_for_seconds_or_until_a_time(alice_api, down):
    response = alice_api.post(f"/api/v1/findings/{down.pk}/snooze", {"seconds": 3600})
    assert response.status_code == 200
    down.refresh_from_db()
    assert timedelta(minutes=59) < down.snoozed_until - timezone.now() <= timedelta(hours=1)
    until = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    alice_api.post(f"/api/v1/findings/{down.pk}/snooze", {"until": until.isoformat()})
    down.refresh_from_db()
    assert down.snoozed_until == until


def test_it_refuses_a_snooze_with_both_or_neither_or_in_the_past(alice_api, down):
    for body in ({}, {"seconds": 60, "until": "2030-01-01T00:00:00Z"}, {"until": "2001-01-01T00:00:00Z"}):
        response = alice_api.post(f"/api/v1/findings/{down.pk}/snooze", body)
        assert response.status_code == 422, body
    assert (
        "time zone"
        in alice_api.post(f"/api/v1/findings/{down.pk}/snooze", {"until": "2030-01-01T00:00:00"}).json()[
            "detail"
        ]
    )


def test_it_lets_a_viewer_read_but_not_acknowledge(victor, acme, down):
    from tests.conftest import ApiClient

    from keepwell.core.models import ApiToken

    _, plain = ApiToken.issue(acme, victor, write=True)
    api = ApiClient(plain)
    assert api.get(f"/api/v1/findings/{down.pk}").status_code == 200
    assert api.post(f"/api/v1/findings/{down.pk}/acknowledge").status_code == 403
    down.refresh_from_db()
    assert down.state == "open"


def test_it_hides_another_organizations_finding(charlie_api, down):
    assert charlie_api.get(f"/api/v1/findings/{down.pk}").status_code == 404
    assert charlie_api.post(f"/api/v1/findings/{down.pk}/resolve").status_code == 404
    down.refresh_from_db()
    assert down.state == "open"
