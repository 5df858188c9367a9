"""The Healthchecks ping protocol: /ping/<uuid>[/start|/fail|/log|/<exit status>] and /ping/<key>/<slug>."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client

from keepwell.core.models import Finding, Service
from keepwell.monitoring.models import Heartbeat, Ping, PingKey

UNKNOWN = "0d9e8f6a-3b7c-4e21-9a55-1c2d3e4f5a6b"


@pytest.fixture
def heartbeat(service):
    return Heartbeat.objects.create(
        organization=service.organization,
        service=service,
        name="Nightly backup",
        slug="nightly-backup",
        period=3600,
    )


@pytest.fixture
def client():
    # Pings come from curl, never with a CSRF token: enforce the checks a browser would get.
    return Client(enforce_csrf_checks=True)


def finding_of(heartbeat):
    return Finding.objects.filter(source="monitoring", key=f"heartbeat:{heartbeat.uuid}").first()


def test_a_success_ping_answers_ok_and_brings_the_heartbeat_up(client, heartbeat):
    response = client.get(f"/ping/{heartbeat.uuid}", HTTP_USER_AGENT="curl/8.5.0")
    assert response.status_code == 200
    assert response.content == b"OK"
    heartbeat.refresh_from_db()
    assert heartbeat.status == "up"
    assert heartbeat.n_pings == 1
    assert heartbeat.alert_after == heartbeat.last_ping + timedelta(seconds=3600 + 3600)
    ping = heartbeat.pings.get()
    assert (ping.n, ping.kind, ping.method, ping.user_agent) == (1, "success", "GET", "curl/8.5.0")


@pytest.mark.parametrize("method", ["head", "get", "post"])
def test_it_takes_pings_by_head_get_and_post(client, heartbeat, method):
    response = getattr(client, method)(f"/ping/{heartbeat.uuid}")
    assert response.status_code == 200
    assert Ping.objects.get(heartbeat=heartbeat).method == method.upper()


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_it_refuses_other_methods_without_recording_a_ping(client, heartbeat, method):
    response = getattr(client, method)(f"/ping/{heartbeat.uuid}")
    assert response.status_code == 405
    assert "HEAD, GET or POST" in response.content.decode()
    assert not Ping.objects.exists()


def test_it_stores_the_body_of_a_post(client, heartbeat):
    response = client.post(f"/ping/{heartbeat.uuid}", b"backup done: 42 files", content_type="text/plain")
    assert response.status_code == 200
    ping = heartbeat.pings.get()
    assert bytes(ping.body) == b"backup done: 42 files"
    assert not ping.body_truncated


def test_it_truncates_a_body_past_the_limit_but_takes_the_ping(client, heartbeat, settings):
    settings.PING_BODY_LIMIT = 1000
    response = client.post(f"/ping/{heartbeat.uuid}", b"x" * 5000, content_type="text/plain")
    assert response.status_code == 200
    assert response["Ping-Body-Limit"] == "1000"
    ping = heartbeat.pings.get()
    assert len(ping.body) == 1000
    assert ping.body_truncated


def test_it_takes_a_body_larger_than_djangos_upload_limit(client, heartbeat):
    huge = b"\xff\x00log line\n" * 400_000  # 4 MB of binary log, above DATA_UPLOAD_MAX_MEMORY_SIZE
    response = client.post(f"/ping/{heartbeat.uuid}/1", huge, content_type="application/octet-stream")
    assert response.status_code == 200
    ping = heartbeat.pings.get()
    assert len(ping.body) == 100 * 1024
    assert ping.body_truncated and ping.exit_status == 1


def test_a_client_may_ask_for_a_smaller_body_limit(client, heartbeat):
    response = client.post(
        f"/ping/{heartbeat.uuid}", b"0123456789", content_type="text/plain", HTTP_PING_BODY_LIMIT="4"
    )
    assert response.status_code == 200
    assert bytes(heartbeat.pings.get().body) == b"0123"


def test_a_malformed_body_limit_header_never_costs_the_ping(client, heartbeat):
    response = client.post(
        f"/ping/{heartbeat.uuid}",
        b"0123456789",
        content_type="text/plain",
        HTTP_PING_BODY_LIMIT="-1; drop table",
    )
    assert response.status_code == 200
    assert bytes(heartbeat.pings.get().body) == b"0123456789"


def test_a_failure_ping_is_down_at_once_and_raises_a_critical_finding(client, heartbeat):
    assert client.post(f"/ping/{heartbeat.uuid}/fail").status_code == 200
    heartbeat.refresh_from_db()
    assert heartbeat.status == "down"
    assert heartbeat.alert_after is None
    finding = finding_of(heartbeat)
    assert finding.state == "open" and finding.severity == "critical"
    assert "Nightly backup" in finding.title


def test_a_success_after_a_failure_resolves_the_finding(client, heartbeat):
    client.get(f"/ping/{heartbeat.uuid}/fail")
    client.get(f"/ping/{heartbeat.uuid}")
    heartbeat.refresh_from_db()
    assert heartbeat.status == "up"
    assert finding_of(heartbeat).state == "resolved"


@pytest.mark.parametrize("code,status", [(0, "up"), (1, "down"), (255, "down")])
def test_an_exit_status_of_zero_is_success_and_any_other_a_failure(client, heartbeat, code, status):
    assert client.get(f"/ping/{heartbeat.uuid}/{code}").status_code == 200
    heartbeat.refresh_from_db()
    assert heartbeat.status == status
    assert heartbeat.pings.get().exit_status == code


@pytest.mark.parametrize("code", ["256", "1000", "9" * 200])
def test_an_exit_status_above_255_is_a_bad_request(client, heartbeat, code):
    response = client.get(f"/ping/{heartbeat.uuid}/{code}")
    assert response.status_code == 400
    assert "0 to 255" in response.content.decode()
    assert not Ping.objects.exists()


def test_a_start_ping_marks_the_run_started_and_the_finish_records_its_duration(client, heartbeat):
    client.get(f"/ping/{heartbeat.uuid}/start")
    heartbeat.refresh_from_db()
    assert heartbeat.status == "started"
    assert heartbeat.alert_after == heartbeat.last_start + timedelta(seconds=heartbeat.grace)
    Heartbeat.objects.filter(pk=heartbeat.pk).update(last_start=heartbeat.last_start - timedelta(minutes=5))
    client.get(f"/ping/{heartbeat.uuid}")
    heartbeat.refresh_from_db()
    assert heartbeat.status == "up"
    assert timedelta(minutes=5) <= heartbeat.last_duration < timedelta(minutes=6)


def test_rid_pairs_each_finish_with_its_own_start(client, heartbeat):
    first, second = uuid.uuid4(), uuid.uuid4()
    client.get(f"/ping/{heartbeat.uuid}/start?rid={first}")
    client.get(f"/ping/{heartbeat.uuid}/start?rid={second}")
    Ping.objects.filter(heartbeat=heartbeat, rid=first).update(
        created=Ping.objects.get(rid=first).created - timedelta(minutes=10)
    )
    client.get(f"/ping/{heartbeat.uuid}?rid={first}")
    client.get(f"/ping/{heartbeat.uuid}/0?rid={second}")
    finishes = {p.rid: p.duration for p in heartbeat.pings.filter(kind="success")}
    assert finishes[first] >= timedelta(minutes=10)
    assert finishes[second] < timedelta(minutes=1)


def test_a_finish_with_an_unknown_rid_has_no_duration(client, heartbeat):
    client.get(f"/ping/{heartbeat.uuid}/start")
    client.get(f"/ping/{heartbeat.uuid}?rid={uuid.uuid4()}")
    assert heartbeat.pings.get(kind="success").duration is None


@pytest.mark.parametrize("rid", ["not-a-uuid", "1" * 5000, "'; drop table monitoring_ping; --"])
def test_a_malformed_rid_is_a_bad_request(client, heartbeat, rid):
    response = client.get(f"/ping/{heartbeat.uuid}/start", {"rid": rid})
    assert response.status_code == 400
    assert "rid" in response.content.decode()
    assert not Ping.objects.exists()


def test_a_log_ping_is_recorded_without_changing_the_status(client, heartbeat):
    client.post(f"/ping/{heartbeat.uuid}/log", b"step 2 of 5", content_type="text/plain")
    heartbeat.refresh_from_db()
    assert heartbeat.status == "new" and heartbeat.last_ping is None
    assert heartbeat.n_pings == 1
    assert heartbeat.pings.get().kind == "log"


def test_a_ping_resumes_a_paused_heartbeat(client, heartbeat):
    Heartbeat.objects.filter(pk=heartbeat.pk).update(status="paused")
    client.get(f"/ping/{heartbeat.uuid}")
    heartbeat.refresh_from_db()
    assert heartbeat.status == "up"


def test_pings_are_numbered_in_order(client, heartbeat):
    for suffix in ("/start", "", "/log", "/fail", "/0"):
        assert client.get(f"/ping/{heartbeat.uuid}{suffix}").status_code == 200
    assert list(heartbeat.pings.order_by("n").values_list("n", "kind")) == [
        (1, "start"),
        (2, "success"),
        (3, "log"),
        (4, "fail"),
        (5, "success"),
    ]


@pytest.mark.parametrize(
    "path",
    [
        f"/ping/{UNKNOWN}",
        f"/ping/{UNKNOWN}/start",
        f"/ping/{UNKNOWN}/7",
        "/ping/not-a-uuid",
        "/ping/" + "a" * 5000,
        f"/ping/{UNKNOWN}/restart",
        f"/ping/{UNKNOWN.upper()}",
    ],
)
def test_unknown_heartbeats_and_paths_answer_404(client, db, path):
    assert client.get(path).status_code == 404
    assert not Ping.objects.exists()


def test_it_announces_the_body_limit_like_healthchecks(client, heartbeat):
    assert client.head(f"/ping/{heartbeat.uuid}")["Ping-Body-Limit"] == str(100 * 1024)


def test_a_ping_writes_no_audit_row(client, heartbeat):
    from keepwell.core.models import AuditEvent

    before = AuditEvent.objects.count()
    client.post(f"/ping/{heartbeat.uuid}/start", b"x", content_type="text/plain")
    client.post(f"/ping/{heartbeat.uuid}", b"x", content_type="text/plain")
    assert AuditEvent.objects.count() == before


# --- /ping/<ping-key>/<slug> ------------------------------------------------------------------------------


@pytest.fixture
def key(acme):
    return PingKey.for_organization(acme).key


def test_a_slug_url_pings_the_heartbeat_of_the_key_s_organization(client, heartbeat, key):
    response = client.post(f"/ping/{key}/nightly-backup/start")
    assert response.status_code == 200 and response.content == b"OK"
    heartbeat.refresh_from_db()
    assert heartbeat.status == "started"


def test_a_slug_url_takes_exit_statuses_and_rejects_bad_ones(client, heartbeat, key):
    assert client.get(f"/ping/{key}/nightly-backup/3").status_code == 200
    assert client.get(f"/ping/{key}/nightly-backup/300").status_code == 400
    heartbeat.refresh_from_db()
    assert heartbeat.status == "down" and heartbeat.n_pings == 1


def test_an_unknown_slug_answers_404_and_tells_about_create(client, heartbeat, key):
    response = client.get(f"/ping/{key}/weekly-report")
    assert response.status_code == 404
    assert "create=1" in response.content.decode()


def test_an_unknown_ping_key_answers_404(client, heartbeat, key):
    assert client.get("/ping/AAAAAAAAAAAAAAAAAAAAAA/nightly-backup").status_code == 404


def test_a_slug_shared_by_two_heartbeats_is_ambiguous(client, heartbeat, key):
    Heartbeat.objects.create(
        organization=heartbeat.organization, service=heartbeat.service, name="Twin", slug=heartbeat.slug
    )
    response = client.get(f"/ping/{key}/nightly-backup")
    assert response.status_code == 409
    assert not Ping.objects.exists()


def test_create_makes_the_missing_heartbeat_in_the_only_service(client, service, key):
    response = client.post(f"/ping/{key}/weekly-report?create=1", b"first run", content_type="text/plain")
    assert response.status_code == 201
    created = Heartbeat.objects.get(slug="weekly-report")
    assert created.service == service and created.status == "up" and created.n_pings == 1
    # The next ping finds it and answers 200.
    assert client.get(f"/ping/{key}/weekly-report?create=1").status_code == 200
    assert Heartbeat.objects.filter(slug="weekly-report").count() == 1


def test_create_asks_which_service_when_there_are_several(client, service, key):
    other = Service.objects.create(organization=service.organization, name="Billing", slug="billing")
    response = client.get(f"/ping/{key}/weekly-report?create=1")
    assert response.status_code == 400
    assert "service=" in response.content.decode()
    assert client.get(f"/ping/{key}/weekly-report?create=1&service=billing").status_code == 201
    assert Heartbeat.objects.get(slug="weekly-report").service == other


def test_create_never_reaches_another_organization_s_service(client, service, key, other_org):
    Service.objects.create(organization=other_org, name="Globex shop", slug="globex-shop")
    response = client.get(f"/ping/{key}/weekly-report?create=1&service=globex-shop")
    assert response.status_code == 400
    assert not Heartbeat.objects.exists()


def test_a_slug_of_another_organization_is_not_found(client, heartbeat, key, other_org):
    other_key = PingKey.for_organization(other_org).key
    assert client.get(f"/ping/{other_key}/nightly-backup").status_code == 404
    assert not Ping.objects.exists()


def test_rotating_the_key_retires_the_old_slug_urls(client, heartbeat, key, acme):
    new = PingKey.for_organization(acme, rotate=True).key
    assert new != key
    assert client.get(f"/ping/{key}/nightly-backup").status_code == 404
    assert client.get(f"/ping/{new}/nightly-backup").status_code == 200
