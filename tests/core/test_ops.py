"""/healthz and /metrics answer from the real database and job queue."""

import re

import pytest
from django.db.utils import ConnectionHandler
from huey import RedisHuey, SqliteHuey
from huey.contrib.djhuey import task

from keepwell.core import findings
from keepwell.core.models import Channel, JobFailureCount, Notification
from keepwell.core.views import ops


@task()
def fail_on_purpose():
    raise RuntimeError("this job fails on purpose")


def metric(text, name, **labels):
    """Return the value of one sample in a Prometheus text exposition, or None."""
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(f"{name}{{{label_text}}}" if labels else name) + r" (\S+)$"
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else None


@pytest.fixture
def broken_database(tmp_path):
    """A real SQLite connection to a file in a folder that does not exist."""
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(tmp_path / "missing" / "db.sqlite3"),
            }
        }
    )
    conn = handler["default"]
    yield conn
    conn.close()


def test_it_reports_healthy_when_the_database_and_the_job_queue_answer(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "jobs": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_naming_the_database_when_it_does_not_answer(client, db, monkeypatch, broken_database):
    monkeypatch.setattr(ops, "db_connection", broken_database)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable", "jobs": "ok"}


def test_it_answers_503_naming_the_jobs_when_the_queue_does_not_answer(client, db, monkeypatch):
    # A real Redis client pointed at a port nobody listens on.
    unreachable = RedisHuey("keepwell-test", url="redis://127.0.0.1:1/0")
    monkeypatch.setattr(ops, "job_queue", lambda: unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "jobs": "unavailable"}


def test_it_refuses_to_change_anything_on_healthz(client, db):
    assert client.post("/healthz").status_code == 405


def test_it_counts_requests_by_method_and_status(client, db):
    before = (
        metric(
            client.get("/metrics").content.decode(),
            "keepwell_http_requests_total",
            method="GET",
            status="404",
        )
        or 0
    )
    client.get("/no-such-page/")
    text = client.get("/metrics").content.decode()
    assert metric(text, "keepwell_http_requests_total", method="GET", status="404") == before + 1
    assert metric(text, "keepwell_http_request_duration_seconds_count") >= 1
    assert "# TYPE keepwell_http_requests_total counter" in text


def test_it_reports_findings_by_severity_and_state_in_one_grid(client, service):
    findings.raise_finding(service, source="monitoring", key="a", title="Down", severity="critical")
    findings.raise_finding(service, source="monitoring", key="b", title="Slow", severity="warning")
    acknowledged = findings.raise_finding(
        service, source="security", key="c", title="CVE", severity="warning"
    )
    findings.acknowledge(acknowledged)
    text = client.get("/metrics").content.decode()
    assert metric(text, "keepwell_findings", severity="critical", state="open") == 1
    assert metric(text, "keepwell_findings", severity="warning", state="open") == 1
    assert metric(text, "keepwell_findings", severity="warning", state="acknowledged") == 1
    # Every combination is present, so dashboards do not lose a series when it drops to zero.
    assert metric(text, "keepwell_findings", severity="info", state="resolved") == 0


def test_it_reports_notifications_by_status(client, acme):
    channel = Channel.objects.create(
        organization=acme, name="Ops", kind="webhook", target="https://example.com/h"
    )
    for status in ("sent", "sent", "failed"):
        Notification.objects.create(
            organization=acme, channel=channel, event="test", subject="s", body="b", status=status
        )
    text = client.get("/metrics").content.decode()
    assert metric(text, "keepwell_notifications", status="sent") == 2
    assert metric(text, "keepwell_notifications", status="failed") == 1
    assert metric(text, "keepwell_notifications", status="pending") == 0


def test_it_counts_failed_jobs_by_task(client, db):
    fail_on_purpose()
    fail_on_purpose()
    assert JobFailureCount.objects.get(task__endswith="fail_on_purpose").count == 2
    text = client.get("/metrics").content.decode()
    task_name = JobFailureCount.objects.get().task
    assert metric(text, "keepwell_jobs_failed_total", task=task_name) == 2


def test_it_reports_the_depth_of_the_job_queue(client, db, monkeypatch, tmp_path):
    queue = SqliteHuey("keepwell-test", filename=str(tmp_path / "jobs.sqlite3"))

    @queue.task()
    def later():
        pass

    later()
    later()
    monkeypatch.setattr(ops, "job_queue", lambda: queue)
    text = client.get("/metrics").content.decode()
    assert metric(text, "keepwell_jobs_pending") == 2


def test_it_keeps_metrics_to_holders_of_the_metrics_token(client, db, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert "KEEPWELL_METRICS_TOKEN" in refused.content.decode()
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    allowed = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
    assert allowed.status_code == 200
    assert allowed["Content-Type"].startswith("text/plain; version=0.0.4")
