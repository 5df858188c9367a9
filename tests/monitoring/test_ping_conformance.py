"""Conformance: the crontab lines people already use with Healthchecks work unchanged against keepwell.

Each line runs in a real shell with the real curl against keepwell's real ASGI application served by
uvicorn, as `keepwell serve` does: plain UUID pings take the fast path, the others go through Django.
"""

import os
import shutil
import subprocess

import pytest

from keepwell.monitoring.models import Heartbeat, PingKey
from uvicorn_server import UvicornServer

pytestmark = [
    pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl (Debian package curl)"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def heartbeat(service):
    return Heartbeat.objects.create(
        organization=service.organization, service=service, name="backup", slug="backup"
    )


@pytest.fixture
def asgi_server(transactional_db, settings):
    """keepwell's ASGI application under uvicorn on loopback (like `keepwell serve`)."""
    from keepwell.asgi import pings

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    # Stopping the ping writer closes its database connection, so the test database can be dropped.
    with UvicornServer(pings, close=pings.writer.stop) as server:
        yield server


def sh(line: str, **env) -> subprocess.CompletedProcess:
    """Run one crontab line in /bin/sh, as cron does."""
    return subprocess.run(
        ["sh", "-c", line], capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin", **env}
    )


def test_the_classic_success_line(asgi_server, heartbeat):
    done = sh(
        "true && curl -fsS -m 10 --retry 5 -o /dev/null $URL", URL=f"{asgi_server.url}/ping/{heartbeat.uuid}"
    )
    assert done.returncode == 0, done.stderr
    heartbeat.refresh_from_db()
    assert (heartbeat.status, heartbeat.n_pings) == ("up", 1)


def test_a_head_request_pings_and_shows_the_body_limit(asgi_server, heartbeat):
    done = sh("curl -fsS -I $URL/start", URL=f"{asgi_server.url}/ping/{heartbeat.uuid}")
    assert done.returncode == 0, done.stderr
    assert "HTTP/1.1 200" in done.stdout and "ping-body-limit: 102400" in done.stdout.lower()
    assert heartbeat.pings.get().method == "HEAD"


def test_the_exit_status_line_sends_the_output_and_the_code(asgi_server, heartbeat):
    line = 'm=$(sh -c "echo disk full; exit 3" 2>&1); curl -fsS -m 10 --data-raw "$m" $URL/$?'
    done = sh(line, URL=f"{asgi_server.url}/ping/{heartbeat.uuid}")
    assert done.returncode == 0 and done.stdout == "OK", done.stderr
    ping = heartbeat.pings.get()
    assert (ping.kind, ping.exit_status, bytes(ping.body)) == ("fail", 3, b"disk full")
    heartbeat.refresh_from_db()
    assert heartbeat.status == "down"


def test_rid_pairs_from_a_wrapper_script(asgi_server, heartbeat):
    line = (
        "RID=$(cat /proc/sys/kernel/random/uuid); "
        'curl -fsS -o /dev/null "$URL/start?rid=$RID" && sleep 1 && '
        'curl -fsS -o /dev/null "$URL/0?rid=$RID"'
    )
    done = sh(line, URL=f"{asgi_server.url}/ping/{heartbeat.uuid}")
    assert done.returncode == 0, done.stderr
    start, finish = heartbeat.pings.order_by("n")
    assert start.rid == finish.rid is not None
    assert finish.duration.total_seconds() >= 1


def test_a_log_file_posted_whole_is_kept_up_to_the_limit(asgi_server, heartbeat, tmp_path):
    log = tmp_path / "backup.log"
    log.write_bytes(b"line\n" * 100_000)  # 500 KB
    done = sh(
        "curl -fsS --data-binary @$LOG $URL/log", URL=f"{asgi_server.url}/ping/{heartbeat.uuid}", LOG=str(log)
    )
    assert done.returncode == 0, done.stderr
    ping = heartbeat.pings.get()
    assert len(ping.body) == 102400 and ping.body_truncated


def test_slug_urls_with_create(asgi_server, heartbeat, acme):
    key = PingKey.for_organization(acme).key
    url = f"{asgi_server.url}/ping/{key}"
    created = sh('curl -fsS "$URL/db-dump?create=1"', URL=url)
    assert created.returncode == 0 and created.stdout == "Created", created.stderr
    again = sh('curl -fsS -w " %{http_code}" "$URL/db-dump?create=1"', URL=url)
    assert again.stdout == "OK 200"
    assert Heartbeat.objects.get(slug="db-dump").n_pings == 2


def test_a_failure_then_a_success_open_and_resolve_the_finding(asgi_server, heartbeat):
    from keepwell.core.models import Finding

    url = f"{asgi_server.url}/ping/{heartbeat.uuid}"
    assert sh("curl -fsS -o /dev/null $URL/fail", URL=url).returncode == 0
    finding = Finding.objects.get(key=f"heartbeat:{heartbeat.uuid}")
    assert finding.state == "open"
    assert sh("curl -fsS -o /dev/null $URL/start && curl -fsS -o /dev/null $URL/0", URL=url).returncode == 0
    finding.refresh_from_db()
    assert finding.state == "resolved"
    heartbeat.refresh_from_db()
    assert (heartbeat.status, heartbeat.n_pings) == ("up", 3)


def test_bad_input_gets_the_clear_error_through_the_server(asgi_server, heartbeat):
    url = f"{asgi_server.url}/ping/{heartbeat.uuid}"
    assert sh('curl -sS -o /dev/null -w "%{http_code}" $URL/256', URL=url).stdout == "400"
    assert sh('curl -sS -o /dev/null -w "%{http_code}" "$URL?rid=nope"', URL=url).stdout == "400"
    assert sh('curl -sS -o /dev/null -w "%{http_code}" -X PUT $URL', URL=url).stdout == "405"
    assert not heartbeat.pings.exists()


def test_curl_fails_loudly_on_an_unknown_check(asgi_server):
    done = sh("curl -fsS $URL", URL=f"{asgi_server.url}/ping/0d9e8f6a-3b7c-4e21-9a55-1c2d3e4f5a6b")
    assert done.returncode == 22  # curl -f: the server answered an error (404)


@pytest.mark.skipif(
    not os.environ.get("KEEPWELL_TEST_DATABASE_URL"),
    reason="the SQLite test database is in memory with a shared cache, which fails concurrent writers at once "
    "('database table is locked') instead of waiting as keepwell's SQLite file in WAL mode does; "
    "runs on PostgreSQL (make test-postgres)",
)
def test_the_same_create_line_fired_at_once_from_many_machines_creates_one_heartbeat(
    asgi_server, acme, service
):
    key = PingKey.for_organization(acme).key
    url = f"{asgi_server.url}/ping/{key}/Nightly-Sync?create=1"
    # Twelve curls started together, as when one crontab line runs on twelve hosts at the same minute.
    procs = [
        subprocess.Popen(["curl", "-sS", "-w", " %{http_code}", url], stdout=subprocess.PIPE, text=True)
        for _ in range(12)
    ]
    answers = sorted(p.communicate(timeout=30)[0] for p in procs)
    assert answers == ["Created 201"] + ["OK 200"] * 11
    heartbeat = Heartbeat.objects.get(organization=acme)
    assert heartbeat.slug == "Nightly-Sync" and heartbeat.n_pings == 12
    # The next ping by the same slug finds it: no second heartbeat, no 409.
    assert sh('curl -fsS -w " %{http_code}" "$URL"', URL=url).stdout == "OK 200"
