"""A remote prober pulls its checks from a live hub and pushes results back with its prober token."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connections
from django.utils import timezone
from prober_server import CountingServer

from keepwell.cli import main
from keepwell.core.models import ApiToken, Service
from keepwell.monitoring.models import CheckResult, Monitor, Prober
from keepwell.monitoring.prober import leases, runner
from keepwell.monitoring.prober.remote import RemoteBackend
from keepwell.monitoring.prober.wire import Outcome

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(settings):
    settings.ALLOW_PRIVATE_TARGETS = True
    s = CountingServer()
    yield s
    s.close()


@pytest.fixture
def frankfurt(acme):
    """A prober token for acme's prober in Frankfurt."""
    return Prober.issue(acme, "frankfurt")[1]


def make_monitor(service, name, target, **fields):
    fields.setdefault("next_check_at", timezone.now() + timedelta(hours=1))  # not due at the hub itself
    return Monitor.objects.create(
        organization=service.organization, service=service, name=name, target=target, interval=60, **fields
    )


def run_remote(hub, token, until, location="frankfurt", limit=20.0):
    """Run a remote prober against `hub` until until() holds or `limit` seconds pass; return the prober."""

    async def go():
        prober = runner.Prober(
            RemoteBackend(hub, token, location), claim_every=0.1, report_every=0.05, concurrency=10
        )
        stop = asyncio.Event()
        task = asyncio.create_task(prober.run(stop))
        deadline = time.monotonic() + limit
        while (
            time.monotonic() < deadline and not task.done() and not await asyncio.to_thread(_quietly, until)
        ):
            await asyncio.sleep(0.1)
        stop.set()
        await task
        await prober.backend.close()
        return prober

    return asyncio.run(go())


def _quietly(until):
    try:
        return until()
    except OperationalError:
        return False
    finally:
        connections.close_all()


def test_a_remote_prober_checks_its_organizations_monitors_from_its_location(
    live_server, server, service, frankfurt, charlie, other_org
):
    shop = make_monitor(service, "shop", f"{server.url}/shop")
    globex = Service.objects.create(organization=other_org, name="Globex", slug="globex")
    make_monitor(globex, "theirs", f"{server.url}/globex")
    prober = run_remote(live_server.url, frankfurt, until=lambda: CheckResult.objects.exists())
    assert prober.fatal is None
    result = CheckResult.objects.get()
    assert (result.monitor_id, result.ok, result.location, result.status_code) == (
        shop.id,
        True,
        "frankfurt",
        200,
    )
    assert server.count("/shop") == 1 and server.count("/globex") == 0
    shop.refresh_from_db()
    assert shop.status == "up"
    assert shop.next_check_at > timezone.now() + timedelta(minutes=50)  # the hub's own schedule is untouched
    assert Prober.objects.get(location="frankfurt").last_seen is not None


def test_a_monitor_needing_two_locations_is_down_only_when_both_see_it_fail(
    live_server, server, service, frankfurt
):
    server.statuses["/shop"] = 503
    shop = make_monitor(
        service, "shop", f"{server.url}/shop", locations_required=2, next_check_at=timezone.now()
    )
    now = timezone.now()
    leases.claim("hub", now=now)
    leases.complete("hub", [Outcome(id=shop.id, ok=False, due=now, started=now, error="HTTP 503")])
    shop.refresh_from_db()
    assert shop.status != "down"  # the hub alone sees it fail
    run_remote(
        live_server.url, frankfurt, until=lambda: CheckResult.objects.filter(location="frankfurt").exists()
    )
    shop.refresh_from_db()
    assert shop.status == "down"


def test_a_revoked_token_stops_the_remote_prober_with_a_clear_message(live_server, service, acme):
    row, token = Prober.issue(acme, "frankfurt")
    row.revoked_at = timezone.now()
    row.save()
    prober = run_remote(live_server.url, token, until=lambda: False, limit=5)
    assert "prober token" in prober.fatal


def test_a_prober_started_with_another_location_than_its_token_is_stopped(live_server, service, frankfurt):
    prober = run_remote(live_server.url, frankfurt, until=lambda: False, location="tokyo", limit=5)
    assert "frankfurt" in prober.fatal and "tokyo" in prober.fatal


# --- The API itself -----------------------------------------------------------------------------------------


def post(client, path, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(f"/api/v1/prober/{path}", body, content_type="application/json", headers=headers)


def test_the_prober_api_refuses_requests_without_a_prober_token(client, acme, alice):
    _, user_token = ApiToken.issue(acme, alice, write=True)
    for token in (None, user_token, "kwp_not-a-real-token"):
        response = post(client, "lease", {}, token)
        assert response.status_code == 401
        if token:
            assert "keepwell prober token create" in response.json()["detail"]


def test_a_lease_answers_the_due_checks_with_what_to_check(client, service, frankfurt):
    shop = make_monitor(service, "shop", "https://shop.example.com/health", config={"keyword": "ok"})
    # First seen at frankfurt, it is due there within ten seconds: inside a 30-second horizon.
    response = post(client, "lease", {"location": "frankfurt", "limit": 10, "horizon": 30}, frankfurt)
    assert response.status_code == 200
    body = response.json()
    assert body["location"] == "frankfurt" and body["count"] == 1
    (item,) = body["items"]
    assert item["id"] == shop.id and item["target"] == "https://shop.example.com/health"
    assert item["config"] == {"keyword": "ok"} and item["interval"] == 60
    again = post(client, "lease", {"horizon": 30}, frankfurt).json()
    assert again["count"] == 0  # leased already


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("lease", {"limit": 0}, "limit"),
        ("lease", {"limit": 100_000}, "limit"),
        ("lease", {"horizon": -1}, "horizon"),
        ("lease", {"location": ""}, "location"),
        ("results", {"results": "all fine"}, "results"),
        ("results", {"results": [{"id": 1, "ok": True}]}, "due"),
        (
            "results",
            {
                "results": [
                    {"id": 0, "ok": True, "due": "2030-01-01T00:00:00Z", "started": "2030-01-01T00:00:00Z"}
                ]
            },
            "id",
        ),
        ("results", {"results": [{"id": 1, "ok": True, "due": "yesterday", "started": "now"}]}, "due"),
        (
            "results",
            {
                "results": [
                    {
                        "id": 1,
                        "ok": False,
                        "due": "2030-01-01T00:00:00Z",
                        "started": "2030-01-01T00:00:00Z",
                        "error": "x" * 6000,
                    }
                ]
            },
            "error",
        ),
        (
            "results",
            {
                "results": [
                    {
                        "id": 1,
                        "ok": False,
                        "due": "2030-01-01T00:00:00Z",
                        "started": "2030-01-01T00:00:00Z",
                        "error": "nul\x00",
                    }
                ]
            },
            "error",
        ),
        ("release", {"ids": list(range(1, 2000))}, "ids"),
        ("release", {"ids": [2**70]}, "ids"),
    ],
)
def test_the_prober_api_refuses_malformed_input_with_a_clear_422(client, acme, frankfurt, path, body, field):
    response = post(client, path, body, frankfurt)
    assert response.status_code == 422
    assert field in response.json()["detail"]


def test_the_prober_api_refuses_a_body_that_is_not_json(client, acme, frankfurt):
    response = client.post(
        "/api/v1/prober/lease",
        b"\xff{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {frankfurt}"},
    )
    assert 400 <= response.status_code < 500


def test_results_for_checks_the_prober_does_not_hold_are_ignored(client, service, frankfurt, acme):
    shop = make_monitor(service, "shop", "https://shop.example.com/")
    now = timezone.now().isoformat()
    result = {"id": shop.id, "ok": False, "due": now, "started": now, "error": "made up"}
    response = post(client, "results", {"results": [result]}, frankfurt)
    assert response.json() == {"recorded": 0, "ignored": 1}
    assert not CheckResult.objects.exists()


def test_a_start_time_from_a_skewed_clock_counts_as_the_hubs_now(client, service, frankfurt):
    shop = make_monitor(service, "shop", "https://shop.example.com/")
    post(client, "lease", {"horizon": 30}, frankfurt)
    future = (timezone.now() + timedelta(days=400)).isoformat()
    result = {"id": shop.id, "ok": True, "due": future, "started": future, "latency_ms": 5}
    assert post(client, "results", {"results": [result]}, frankfurt).json()["recorded"] == 1
    assert CheckResult.objects.get().checked_at <= timezone.now()


def test_another_organizations_prober_cannot_lease_or_report_acmes_checks(
    client, service, frankfurt, other_org
):
    _, theirs = Prober.issue(other_org, "frankfurt")
    shop = make_monitor(service, "shop", "https://shop.example.com/")
    assert post(client, "lease", {"horizon": 30}, theirs).json()["count"] == 0
    post(client, "lease", {"horizon": 30}, frankfurt)
    now = timezone.now().isoformat()
    result = {"id": shop.id, "ok": False, "due": now, "started": now}
    assert post(client, "results", {"results": [result]}, theirs).json()["recorded"] == 0
    assert post(client, "release", {"ids": [shop.id]}, theirs).json()["released"] == 0
    assert post(client, "release", {"ids": [shop.id]}, frankfurt).json()["released"] == 1


# --- The command line ----------------------------------------------------------------------------------------


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_it_creates_a_prober_token_alone_on_the_last_line(capsys, acme):
    code, out, err = run(capsys, "prober", "token", "create", "--org", "acme", "--location", "frankfurt")
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert Prober.authenticate(token).location == "frankfurt"
    assert "shown once" in err


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["token", "create", "--org", "nope", "--location", "frankfurt"], 1, "no organization 'nope'"),
        (["token", "create", "--org", "acme", "--location", "local"], 2, "hub's own location"),
        (["token", "create", "--org", "acme", "--location", "../etc"], 2, "not a location name"),
        (["--hub", "ftp://hub.example.com", "--token", "t"], 2, "http(s) address"),
        (["--hub", "https://hub.example.com"], 2, "needs its token"),
        (["--token", "kwp_x"], 2, "give --hub too"),
        (["--concurrency", "0"], 2, "between 1 and 10000"),
    ],
)
def test_it_explains_a_mistake_in_one_line(capsys, acme, monkeypatch, args, code, message):
    monkeypatch.delenv("KEEPWELL_PROBER_TOKEN", raising=False)
    result, _, err = run(capsys, "prober", *args)
    assert result == code
    assert message in err and "Traceback" not in err


def test_keepwell_up_also_runs_a_prober():
    from keepwell.cli import build_parser
    from keepwell.commands import PROCESSES

    build_parser()  # registering the commands is what adds the process
    assert ("prober", ["prober"]) in PROCESSES


def test_a_remote_prober_process_stops_cleanly_on_sigterm(live_server, server, service, frankfurt):
    make_monitor(service, "shop", f"{server.url}/shop")
    env = {**os.environ, "KEEPWELL_PROBER_TOKEN": frankfurt, "KEEPWELL_ALLOW_PRIVATE_TARGETS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "keepwell.cli", "prober", "--hub", live_server.url, "--location", "frankfurt"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while server.count("/shop") == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.count("/shop") == 1
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped after 1 checks" in err
    assert _quietly(lambda: CheckResult.objects.filter(location="frankfurt").count()) == 1
