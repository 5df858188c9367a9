"""keepwell behind a reverse proxy, through the real views and ASGI fast paths: the client address recorded for
pings, error envelopes, sign-ins and API changes, HTTPS from X-Forwarded-Proto, and `keepwell serve` and
`keepwell worker` refusing a database that migrations have not caught up with."""

import os
import socket
import subprocess
import sys
import time
import uuid

import httpx
import psycopg
import pytest
from django.test import Client
from django.urls import reverse
from sentry_sdk.envelope import Envelope as SdkEnvelope

from keepwell.commands import processes
from keepwell.core.clientip import parse_networks
from keepwell.core.models import AuditEvent
from keepwell.errors.models import Dsn, RawEnvelope
from keepwell.monitoring.models import Heartbeat
from uvicorn_server import UvicornServer

CLIENT = "198.51.100.7"
HSTS = "Strict-Transport-Security"

# (KEEPWELL_TRUSTED_PROXIES, the connection's peer, the address keepwell should record)
BEHIND_PROXIES = [
    pytest.param("", "10.0.0.2", "10.0.0.2", id="no-proxy-trusted"),
    pytest.param("10.0.0.0/8", "10.0.0.2", CLIENT, id="trusted-proxy"),
    pytest.param("10.0.0.0/8", "203.0.113.5", "203.0.113.5", id="untrusted-peer"),
]


@pytest.fixture(autouse=True)
def fresh_cache():
    """No remembered event ids, rate counts or throttle counters from other tests (Redis may hold them)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def enqueued(monkeypatch):
    """Keep accepted envelopes in the spool (the processing job would empty it) and note their ids."""
    from keepwell.errors import ingest

    ids = []
    monkeypatch.setattr(ingest, "_enqueue", ids.append)
    return ids


@pytest.fixture
def heartbeat(service):
    return Heartbeat.objects.create(
        organization=service.organization, service=service, name="nightly", period=3600, grace=600
    )


@pytest.fixture
def dsn(service):
    return Dsn.issue(service, label="web", rate_limit=0)


def envelope_bytes() -> bytes:
    event_id = uuid.uuid4().hex
    sdk = SdkEnvelope(headers={"event_id": event_id})
    sdk.add_event({"event_id": event_id, "message": "boom", "level": "error"})
    return sdk.serialize()


def sentry_auth(dsn) -> str:
    return f"Sentry sentry_version=7, sentry_client=test/1, sentry_key={dsn.public_key}"


# --- Through Django's views (the test client sets the peer) -------------------------------------------------


@pytest.mark.parametrize("trusted,peer,expected", BEHIND_PROXIES)
def test_a_ping_records_the_client_behind_a_trusted_proxy_only(heartbeat, settings, trusted, peer, expected):
    settings.TRUSTED_PROXIES = parse_networks(trusted)
    response = Client().get(f"/ping/{heartbeat.uuid}", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=CLIENT)
    assert response.status_code == 200, response.content
    assert heartbeat.pings.get().remote_addr == expected


@pytest.mark.parametrize("trusted,peer,expected", BEHIND_PROXIES)
def test_an_error_envelope_records_the_client_behind_a_trusted_proxy_only(
    dsn, settings, enqueued, trusted, peer, expected
):
    settings.TRUSTED_PROXIES = parse_networks(trusted)
    response = Client().post(
        f"/api/{dsn.project_id}/envelope/",
        envelope_bytes(),
        content_type="application/x-sentry-envelope",
        REMOTE_ADDR=peer,
        HTTP_X_FORWARDED_FOR=f"1.1.1.1, {CLIENT}",
        HTTP_X_SENTRY_AUTH=sentry_auth(dsn),
    )
    assert response.status_code == 200, response.content
    assert RawEnvelope.objects.get().client_ip == expected


@pytest.mark.parametrize("trusted,peer,expected", BEHIND_PROXIES)
def test_an_api_change_is_audited_with_the_client_s_address(alice_api, settings, trusted, peer, expected):
    settings.TRUSTED_PROXIES = parse_networks(trusted)
    response = alice_api.post(
        "/api/v1/services",
        {"name": "Billing", "slug": "billing"},
        REMOTE_ADDR=peer,
        headers={"X-Forwarded-For": CLIENT},
    )
    assert response.status_code == 201, response.content
    assert AuditEvent.objects.get(action="create", object_repr__contains="Billing").ip == expected


def sign_in(client, email, password, client_address):
    return client.post(
        reverse("login"),
        {"username": email, "password": password},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=client_address,
    )


def test_sign_in_throttling_counts_each_client_behind_the_proxy_apart(alice, bob, settings):
    settings.TRUSTED_PROXIES = parse_networks("10.0.0.0/8")
    settings.LOGIN_THROTTLE_ATTEMPTS = 3
    for email in ("x@example.org", "y@example.org", "z@example.org"):
        sign_in(Client(), email, "guess guess guess", "203.0.113.66")
    refused = sign_in(Client(), "bob@example.org", "correct horse battery staple", "203.0.113.66")
    assert "Too many failed sign-ins" in refused.content.decode()
    # Someone else behind the same proxy is not locked out by the guesser.
    assert sign_in(Client(), "alice@example.org", "correct horse battery staple", CLIENT).status_code == 302
    assert set(AuditEvent.objects.filter(action="login_failed").values_list("ip", flat=True)) == {
        "203.0.113.66"
    }
    assert AuditEvent.objects.get(action="login").ip == CLIENT


@pytest.mark.parametrize(
    "trusted,peer,secure",
    [
        pytest.param("10.0.0.0/8", "10.0.0.2", True, id="trusted-proxy"),
        pytest.param("10.0.0.0/8", "203.0.113.5", False, id="untrusted-peer"),
        pytest.param("", "10.0.0.2", False, id="no-proxy-trusted"),
    ],
)
def test_https_is_believed_from_a_trusted_proxy_only(db, settings, trusted, peer, secure):
    settings.TRUSTED_PROXIES = parse_networks(trusted)
    # As keepwell.settings derives it (checked on its own below).
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if trusted else None
    settings.SECURE_HSTS_SECONDS = 3600
    response = Client().get(reverse("login"), REMOTE_ADDR=peer, HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response.wsgi_request.is_secure() is secure
    assert (HSTS in response) is secure


def test_a_trusted_proxy_saying_http_is_believed_too(db, settings):
    settings.TRUSTED_PROXIES = parse_networks("10.0.0.0/8")
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = Client().get(
        reverse("login"), REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_PROTO="http", secure=True
    )
    assert response.wsgi_request.is_secure() is False


# --- The settings ----------------------------------------------------------------------------------------


def clean_env(tmp_path, **variables) -> dict:
    """The environment of a fresh keepwell process: no test settings, a data directory of its own."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("KEEPWELL_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(KEEPWELL_DATA_DIR=str(tmp_path / "data"), KEEPWELL_LOG_LEVEL="WARNING", **variables)
    return env


def read_settings(tmp_path, trusted: str) -> subprocess.CompletedProcess:
    code = "import keepwell.settings as s; print(repr((s.TRUSTED_PROXIES, s.SECURE_PROXY_SSL_HEADER)))"
    env = clean_env(tmp_path, KEEPWELL_TRUSTED_PROXIES=trusted)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_the_settings_believe_x_forwarded_proto_only_with_trusted_proxies(tmp_path):
    behind = read_settings(tmp_path, "10.0.0.0/8, ::1")
    assert behind.returncode == 0, behind.stderr
    assert "IPv4Network('10.0.0.0/8'), IPv6Network('::1/128')" in behind.stdout
    assert "('HTTP_X_FORWARDED_PROTO', 'https')" in behind.stdout
    direct = read_settings(tmp_path, "")
    assert direct.stdout.strip() == "((), None)"


def test_a_wrong_trusted_proxies_value_stops_keepwell_saying_what_is_wrong(tmp_path):
    result = read_settings(tmp_path, "10.0.0.0/8, proxy.internal")
    assert result.returncode == 1
    assert "KEEPWELL_TRUSTED_PROXIES: 'proxy.internal' is not an IP address or a network" in result.stderr
    assert "Traceback" not in result.stderr


# --- Under uvicorn, as `keepwell serve` runs it (the ping and Sentry fast paths answer first) -------------


def Served() -> UvicornServer:
    """keepwell's ASGI application under uvicorn with serve's options, on 127.0.0.1 at a free port."""
    from django.core.handlers.asgi import ASGIHandler

    from keepwell.errors.ingest_asgi import SentryIngestFastPath
    from keepwell.monitoring.ping_fastpath import PingFastPath

    # A handler of its own: Django's middleware reads some settings (HSTS) once, when it is built.
    pings = PingFastPath(ASGIHandler())
    app = SentryIngestFastPath(pings, threads=2)

    def close():
        app.close()  # closes the pool threads' database connections, so the test database can be dropped
        pings.writer.stop()

    return UvicornServer(app, close=close, **processes.UVICORN_OPTIONS)


@pytest.fixture
def serve(transactional_db, settings):
    """Start keepwell under uvicorn (with the settings as they are then); stopped after the test."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    servers = []

    def serve():
        servers.append(Served())
        return servers[-1]

    try:
        yield serve
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def served(serve):
    return serve()


# The peer is 127.0.0.1 here: (KEEPWELL_TRUSTED_PROXIES, the address keepwell should record).
LOOPBACK_PROXY = [
    pytest.param("", "127.0.0.1", id="no-proxy-trusted"),
    pytest.param("127.0.0.1", CLIENT, id="trusted-proxy"),
    pytest.param("10.0.0.0/8", "127.0.0.1", id="untrusted-peer"),
]


@pytest.mark.parametrize("trusted,expected", LOOPBACK_PROXY)
def test_a_ping_through_the_fast_path_records_the_client_behind_a_trusted_proxy_only(
    served, heartbeat, settings, trusted, expected
):
    settings.TRUSTED_PROXIES = parse_networks(trusted)
    response = httpx.get(f"{served.url}/ping/{heartbeat.uuid}", headers={"X-Forwarded-For": CLIENT})
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 5
    while not heartbeat.pings.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert heartbeat.pings.get().remote_addr == expected


@pytest.mark.parametrize("trusted,expected", LOOPBACK_PROXY)
def test_an_envelope_through_the_fast_path_records_the_client_behind_a_trusted_proxy_only(
    served, dsn, settings, enqueued, trusted, expected
):
    settings.TRUSTED_PROXIES = parse_networks(trusted)
    # Two X-Forwarded-For headers, as two proxies may send them: one list, the client's address on the right.
    headers = [
        ("X-Sentry-Auth", sentry_auth(dsn)),
        ("Content-Type", "application/x-sentry-envelope"),
        ("X-Forwarded-For", "1.1.1.1"),
        ("X-Forwarded-For", CLIENT),
    ]
    response = httpx.post(
        f"{served.url}/api/{dsn.project_id}/envelope/", content=envelope_bytes(), headers=headers
    )
    assert response.status_code == 200, response.text
    assert RawEnvelope.objects.get().client_ip == expected


@pytest.mark.parametrize("trusted,secure", [("127.0.0.1", True), ("10.0.0.0/8", False), ("", False)])
def test_under_uvicorn_https_is_believed_from_a_trusted_proxy_only(serve, settings, trusted, secure):
    settings.TRUSTED_PROXIES = parse_networks(trusted)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if trusted else None
    settings.SECURE_HSTS_SECONDS = 3600
    served = serve()
    response = httpx.get(f"{served.url}{reverse('login')}", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert (HSTS in response.headers) is secure


# --- `keepwell serve` and `keepwell worker` on a database that is behind ------------------------------------


def keepwell(env, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "keepwell.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def migrations_in_total() -> int:
    from django.db.migrations.loader import MigrationLoader

    return len(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def assert_refused(result, command, count, first):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert f"{count} migrations not applied yet (first {first})" in result.stderr
    assert "Run `keepwell manage migrate` once" in result.stderr
    assert f"then start `keepwell {command}` again" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_a_new_sqlite_database(tmp_path, command):
    env = clean_env(tmp_path)
    args = ["serve", "--port", str(free_port())] if command == "serve" else ["worker"]
    result = keepwell(env, *args)
    assert_refused(result, command, migrations_in_total(), "contenttypes.0001_initial")
    assert str(tmp_path / "data" / "keepwell.sqlite3") in result.stderr


def test_serve_counts_the_migrations_a_partly_migrated_database_lacks(tmp_path):
    env = clean_env(tmp_path)
    migrated = keepwell(env, "manage", "migrate", "contenttypes", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    result = keepwell(env, "serve", "--port", str(free_port()))
    assert_refused(result, "serve", migrations_in_total() - 2, "auth.0001_initial")


@pytest.fixture
def empty_postgres():
    """A new, empty database on the test PostgreSQL server (only when the suite runs on PostgreSQL)."""
    url = os.environ.get("KEEPWELL_TEST_DATABASE_URL")
    if not url:
        pytest.skip("set KEEPWELL_TEST_DATABASE_URL to run on PostgreSQL")
    name = f"{os.environ.get('KEEPWELL_TEST_DATABASE_NAME', 'keepwell_test')}_unmigrated"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name, name
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_a_new_postgres_database(tmp_path, empty_postgres, command):
    url, name = empty_postgres
    env = clean_env(tmp_path, KEEPWELL_DATABASE_URL=url)
    args = ["serve", "--port", str(free_port())] if command == "serve" else ["worker"]
    result = keepwell(env, *args)
    assert_refused(result, command, migrations_in_total(), "contenttypes.0001_initial")
    assert f"The database ({name})" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_a_migrated_database_is_not_refused():
    """The test database (SQLite or PostgreSQL) has every migration: serve and worker would start."""
    assert processes.database_lag() == ([], [])
    processes.refuse_unmigrated("serve")


@pytest.mark.slow
def test_serve_and_worker_start_once_the_database_is_migrated(tmp_path):
    env = clean_env(tmp_path)
    migrated = keepwell(env, "manage", "migrate", "-v0", timeout=300)
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "keepwell.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    jobs = subprocess.Popen(
        [sys.executable, "-m", "keepwell.cli", "worker", "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline and web.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer is not None and answer.status_code == 200, web.stderr.read() if web.poll() else answer
        assert jobs.poll() is None, jobs.communicate()
    finally:
        for proc in (web, jobs):
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
