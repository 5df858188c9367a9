"""Reading Alertmanager webhook payloads (version 4): pure parsing, no database."""

import json
from datetime import UTC, datetime

import pytest

from keepwell.monitoring.alertmanager import MAX_ALERTS, parse


def payload(**changes):
    body = {
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "keepwell",
        "groupLabels": {"alertname": "HighLatency"},
        "commonLabels": {"alertname": "HighLatency"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighLatency", "severity": "critical", "instance": "api-1"},
                "annotations": {"summary": "p99 latency above 2 s", "description": "Checkout is slow."},
                "startsAt": "2030-01-31T22:00:00.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph?g0.expr=latency",
                "fingerprint": "c0ffee1234567890",
            }
        ],
    }
    body.update(changes)
    return json.dumps(body).encode()


def test_it_reads_a_firing_alert_with_its_title_severity_and_times():
    (alert,) = parse(payload()).alerts
    assert alert.firing
    assert alert.fingerprint == "c0ffee1234567890"
    assert alert.title == "HighLatency: p99 latency above 2 s"
    assert alert.severity == "critical"
    assert alert.starts_at == datetime(2030, 1, 31, 22, 0, 0, 123456, tzinfo=UTC)
    assert alert.ends_at is None, "Go's zero time means the alert has not ended"
    assert "Checkout is slow." in alert.detail and "instance=api-1" in alert.detail


@pytest.mark.parametrize(
    "label, severity",
    [
        ("critical", "critical"),
        ("page", "critical"),
        ("Warning", "warning"),
        ("info", "info"),
        ("none", "info"),
        ("whatever", "warning"),
        (None, "warning"),
    ],
)
def test_it_maps_the_severity_label_to_a_finding_severity(label, severity):
    labels = {"alertname": "X"} | ({"severity": label} if label else {})
    alert = {"status": "firing", "labels": labels, "annotations": {}, "fingerprint": "f"}
    assert parse(payload(alerts=[alert])).alerts[0].severity == severity


def test_it_names_an_alert_without_a_summary_by_its_alertname_alone():
    alert = {"status": "resolved", "labels": {"alertname": "DiskFull"}, "fingerprint": "ab"}
    (parsed,) = parse(payload(status="resolved", alerts=[alert])).alerts
    assert parsed.title == "DiskFull" and not parsed.firing


def test_it_derives_a_stable_fingerprint_when_a_sender_leaves_it_out():
    alert = {"status": "firing", "labels": {"alertname": "A", "job": "b"}}
    first = parse(payload(alerts=[alert])).alerts[0].fingerprint
    again = parse(payload(alerts=[{"status": "firing", "labels": {"job": "b", "alertname": "A"}}])).alerts[0]
    assert first and first == again.fingerprint


@pytest.mark.parametrize(
    "body, message",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (payload(version="3"), "Unsupported payload version '3'"),
        (payload(version=4), "Unsupported payload version 4"),
        (payload(status="exploded"), "status must be 'firing' or 'resolved'"),
        (payload(alerts={"a": 1}), "alerts must be a list"),
        (payload(alerts=["x"]), "alerts[0] must be an object"),
        (payload(alerts=[{"status": "on"}]), "alerts[0].status must be"),
        (payload(alerts=[{"status": "firing", "labels": ["a"]}]), "alerts[0].labels must be an object"),
        (
            payload(alerts=[{"status": "firing", "labels": {"a": {"b": 1}}}]),
            "alerts[0].labels.a must be a string",
        ),
        (payload(alerts=[{"status": "firing", "fingerprint": 7}]), "fingerprint must be a string"),
        (payload(alerts=[{"status": "firing", "fingerprint": "f" * 300}]), "longer than 255"),
        (
            payload(alerts=[{"status": "firing", "startsAt": "yesterday"}]),
            "startsAt must be an RFC 3339 time",
        ),
        (payload(alerts=[{"status": "firing", "startsAt": "2030-01-31T22:00:00"}]), "must give a time zone"),
    ],
)
def test_it_refuses_a_malformed_payload_saying_what_is_wrong(body, message):
    with pytest.raises(ValueError) as error:
        parse(body)
    assert message in str(error.value)


def test_it_refuses_more_alerts_than_one_notification_may_carry():
    alert = {"status": "firing", "labels": {"alertname": "A"}, "fingerprint": "f"}
    with pytest.raises(ValueError, match="Too many alerts"):
        parse(payload(alerts=[alert] * (MAX_ALERTS + 1)))


def test_it_refuses_deeply_nested_json_without_crashing():
    with pytest.raises(ValueError, match="not valid JSON"):
        parse(b"[" * 100_000 + b"]" * 100_000)


def test_it_refuses_huge_label_values_and_strips_nul_characters():
    with pytest.raises(ValueError, match="longer than"):
        parse(payload(alerts=[{"status": "firing", "labels": {"a": "x" * 20_000}}]))
    alert = {"status": "firing", "labels": {"alertname": "Bad\x00Name"}, "fingerprint": "f\x00p"}
    (parsed,) = parse(payload(alerts=[alert])).alerts
    assert parsed.title == "BadName" and parsed.fingerprint == "fp"
