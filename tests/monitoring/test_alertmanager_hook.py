"""The Alertmanager webhook: firing alerts raise findings keyed by fingerprint, resolved ones resolve them."""

import json

import pytest
from django.test import Client

from keepwell.core.models import Finding
from keepwell.monitoring.models import AlertmanagerHook


@pytest.fixture
def hook(service):
    hook, token = AlertmanagerHook.issue(service, "Prometheus")
    hook.plain = token
    return hook


def alert(status="firing", fingerprint="c0ffee", severity="critical", summary="p99 above 2 s"):
    return {
        "status": status,
        "labels": {"alertname": "HighLatency", "severity": severity},
        "annotations": {"summary": summary},
        "startsAt": "2030-01-31T22:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    }


def send(hook_or_token, alerts, status="firing", **extra):
    token = getattr(hook_or_token, "plain", hook_or_token)
    body = {"version": "4", "groupKey": "g", "status": status, "receiver": "keepwell", "alerts": alerts}
    return Client().post(
        f"/hooks/alertmanager/{token}", json.dumps(body), content_type="application/json", **extra
    )


def test_a_firing_alert_opens_a_finding_of_the_hooks_service(hook, service):
    response = send(hook, [alert()])
    assert response.status_code == 200
    assert response.json() == {"service": "shop-api", "firing": 1, "resolved": 0}
    finding = Finding.objects.get(service=service, source="alertmanager", key="c0ffee")
    assert finding.title == "HighLatency: p99 above 2 s"
    assert finding.severity == "critical" and finding.state == "open"
    assert finding.url == "http://prometheus:9090/graph"
    hook.refresh_from_db()
    assert hook.last_received is not None


def test_the_same_alert_firing_again_counts_on_one_finding(hook, service):
    send(hook, [alert()])
    send(hook, [alert(severity="warning", summary="still slow")])
    finding = Finding.objects.get(service=service, source="alertmanager")
    assert finding.count == 2 and finding.title == "HighLatency: still slow"


def test_a_resolved_alert_resolves_its_finding_and_a_new_firing_reopens_it(hook, service):
    send(hook, [alert(), alert(fingerprint="other")])
    response = send(hook, [alert(status="resolved")], status="resolved")
    assert response.json()["resolved"] == 1
    states = dict(Finding.objects.filter(service=service).values_list("key", "state"))
    assert states == {"c0ffee": "resolved", "other": "open"}
    send(hook, [alert()])
    reopened = Finding.objects.get(key="c0ffee")
    assert reopened.state == "open" and reopened.times_reopened == 1


def test_a_resolved_alert_that_never_fired_here_is_accepted_and_changes_nothing(hook):
    assert send(hook, [alert(status="resolved")], status="resolved").status_code == 200
    assert not Finding.objects.exists()


def test_a_link_that_is_not_http_is_not_kept_as_the_findings_link(hook):
    evil = alert() | {"generatorURL": "javascript:alert(1)"}
    send(hook, [evil])
    assert Finding.objects.get().url == ""


def test_a_wrong_token_is_answered_404_and_raises_nothing(hook):
    response = send("kwam_not-a-token", [alert()])
    assert response.status_code == 404
    assert "No Alertmanager hook has this token" in response.json()["detail"]
    assert send("x" * 5000, [alert()]).status_code == 404
    assert not Finding.objects.exists()


def test_a_deleted_hook_stops_working(hook):
    hook.delete()
    assert send(hook, [alert()]).status_code == 404


@pytest.mark.parametrize(
    "body, detail",
    [
        (b"{oops", "not valid JSON"),
        (b'{"version": "3", "alerts": []}', "Unsupported payload version '3'"),
        (b'{"version": "4", "alerts": "many"}', "alerts must be a list"),
    ],
)
def test_a_malformed_payload_is_answered_400_with_a_clear_detail(hook, body, detail):
    response = Client().post(f"/hooks/alertmanager/{hook.plain}", body, content_type="application/json")
    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert not Finding.objects.exists()


def test_a_huge_body_is_refused_with_413(hook, settings):
    settings.ALERTMANAGER_MAX_BODY = 2000
    response = send(hook, [alert(summary="x" * 3000)])
    assert response.status_code == 413
    assert "larger than 2000 bytes" in response.json()["detail"]
    assert not Finding.objects.exists()


def test_only_post_is_accepted(hook):
    response = Client().get(f"/hooks/alertmanager/{hook.plain}")
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_it_needs_no_csrf_token(hook):
    client = Client(enforce_csrf_checks=True)
    body = json.dumps({"version": "4", "status": "firing", "alerts": [alert()]})
    response = client.post(f"/hooks/alertmanager/{hook.plain}", body, content_type="application/json")
    assert response.status_code == 200


def test_the_token_is_stored_only_hashed(hook):
    row = AlertmanagerHook.objects.get(pk=hook.pk)
    assert hook.plain not in (row.token_hash, row.prefix) and row.token_hash == AlertmanagerHook.hash(
        hook.plain
    )
