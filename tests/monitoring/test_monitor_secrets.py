"""A monitor's request headers may carry credentials: encrypted at rest, never shown back in full."""

import pytest
from django.db import connection

from keepwell.core.models import AuditEvent
from keepwell.monitoring.models import Monitor
from keepwell.monitoring.probes import REDACTED, redact, unredact

SECRET = "Bearer s3cr3t-value-123"


@pytest.fixture
def monitor(service):
    return Monitor.objects.create(
        organization=service.organization,
        service=service,
        name="API",
        kind="http",
        target="https://api.example.org/health",
        config={"headers": {"Authorization": SECRET, "Accept": "application/json"}},
    )


def test_it_stores_the_options_encrypted(monitor):
    with connection.cursor() as cursor:
        cursor.execute("SELECT config FROM monitoring_monitor WHERE id = %s", [monitor.pk])
        [raw] = cursor.fetchone()
    assert SECRET not in raw and raw.startswith("fernet:")
    monitor.refresh_from_db()
    assert monitor.config["headers"]["Authorization"] == SECRET


def test_it_keeps_the_options_out_of_the_audit_log(monitor):
    assert not any(SECRET in str(e.changes) for e in AuditEvent.objects.all())


def test_the_api_shows_secret_headers_redacted_and_keeps_them_on_echo(monitor, alice_api):
    url = f"/api/v1/services/{monitor.service.slug}/monitors/{monitor.pk}"
    shown = alice_api.get(url).json()["config"]["headers"]
    assert shown == {"Authorization": REDACTED, "Accept": "application/json"}
    # A client that sends back what it read keeps the stored credential.
    response = alice_api.patch(url, {"config": {"headers": shown}})
    assert response.status_code == 200, response.content
    monitor.refresh_from_db()
    assert monitor.config["headers"]["Authorization"] == SECRET


def test_redact_hides_credential_like_headers_only():
    config = {"headers": {"X-Api-Key": "k", "Cookie": "c", "User-Agent": "ua"}, "method": "GET"}
    assert redact(config) == {
        "headers": {"X-Api-Key": REDACTED, "Cookie": REDACTED, "User-Agent": "ua"},
        "method": "GET",
    }
    assert unredact(redact(config), config) == config
    assert redact({"method": "GET"}) == {"method": "GET"}
