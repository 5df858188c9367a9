"""The official Python sentry-sdk against keepwell on loopback: under uvicorn with the ASGI fast path (as
`keepwell serve` runs it) and under Django's own server; plus hostile bodies sent over real sockets."""

import socket
import time
import tracemalloc
import zlib

import pytest
import sentry_sdk

from keepwell.errors.envelope import parse_envelope
from keepwell.errors.ingest_asgi import SentryIngestFastPath
from keepwell.errors.models import Dsn, RawEnvelope
from uvicorn_server import UvicornServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_cache():
    """Start each test with no remembered event ids or rate counts (they live in Redis when it is set)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def enqueued(monkeypatch):
    """Record the spool rows ingest hands to the processing job, instead of processing them (tests read the spool)."""
    from keepwell.errors import ingest

    ids = []
    monkeypatch.setattr(ingest, "_enqueue", ids.append)
    return ids


def serve(settings, fast_path=True, threads=4):
    """keepwell's ASGI application under uvicorn in a thread: behind the ingestion fast path, or without it
    (then Django's views answer, as they do for anything the fast path hands on)."""
    from keepwell.asgi import pings as application

    settings.BASE_URL = "http://testserver"
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    if fast_path:
        app = SentryIngestFastPath(application, threads=threads)
        server = UvicornServer(app, close=app.close)
    else:
        server = UvicornServer(application)
    with server:
        yield server


@pytest.fixture
def asgi_server(transactional_db, settings, enqueued):
    yield from serve(settings)


@pytest.fixture
def django_server(transactional_db, settings):
    """The same server without the fast path: Django's ingestion views answer."""
    yield from serve(settings, fast_path=False)


def make_dsn(service, base_url, **fields):
    """Issue a key while KEEPWELL_BASE_URL names the server: its DSN is then exactly what the page shows."""
    from django.conf import settings

    settings.BASE_URL = base_url
    dsn = Dsn.issue(service, **fields)
    return dsn, dsn.dsn


def sdk_client(dsn: str, **options):
    return sentry_sdk.Client(
        dsn=dsn, default_integrations=False, auto_session_tracking=False, release="shop@1.2.3", **options
    )


def capture(client, error: Exception | None = None, message: str | None = None):
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        if error is not None:
            try:
                raise error
            except type(error):
                return sentry_sdk.capture_exception()
        return sentry_sdk.capture_message(message)


def wait_for(count: int, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while RawEnvelope.objects.count() < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return RawEnvelope.objects.count()


@pytest.mark.parametrize("compression", [None, "gzip", "br"])
def test_the_python_sdk_s_events_are_spooled_through_the_fast_path(
    asgi_server, service, compression, enqueued
):
    dsn, url = make_dsn(service, asgi_server.url, rate_limit=0)
    experiments = (
        {"transport_compression_algo": compression} if compression else {"transport_compression_level": 0}
    )
    client = sdk_client(url, _experiments=experiments)
    first = capture(client, ValueError("bad input 42"))
    second = capture(client, message="hello from the sdk")
    client.flush(timeout=10)
    client.close()
    assert wait_for(2) == 2
    rows = {row.event_id: row for row in RawEnvelope.objects.all()}
    assert set(rows) == {first, second}
    event = parse_envelope(bytes(rows[first].body)).items[0].json()
    assert event["exception"]["values"][0]["type"] == "ValueError" and event["release"] == "shop@1.2.3"
    assert rows[first].dsn == dsn and rows[first].client_ip == "127.0.0.1"
    # Handed to the job after the commit (by the fast path's own thread, just after the answer): commits that
    # land while that thread is busy are handed on together, with the highest spool id.
    last = max(row.pk for row in rows.values())
    deadline = time.monotonic() + 5
    while last not in enqueued and time.monotonic() < deadline:
        time.sleep(0.02)
    assert last in enqueued and set(enqueued) <= {row.pk for row in rows.values()}


def test_the_python_sdk_works_against_django_s_views(django_server, service, enqueued):
    dsn, url = make_dsn(service, django_server.url, rate_limit=0)
    client = sdk_client(url)
    event_id = capture(client, KeyError("sku"))
    client.flush(timeout=10)
    client.close()
    assert wait_for(1) == 1
    assert RawEnvelope.objects.get().event_id == event_id


def test_the_sdk_honours_the_rate_limit_answer(asgi_server, service, one_rate_minute):
    from sentry_sdk.transport import _parse_rate_limits

    dsn, url = make_dsn(service, asgi_server.url, rate_limit=1)
    client = sdk_client(url)
    capture(client, message="first")
    client.flush(timeout=10)
    capture(client, message="second: answered 429")
    client.flush(timeout=10)
    assert client.transport._check_disabled("error"), "the SDK should stop sending after a 429"
    capture(client, message="third: never sent")
    client.flush(timeout=10)
    client.close()
    assert RawEnvelope.objects.count() == 1
    import httpx

    answer = httpx.post(
        f"{asgi_server.url}/api/{dsn.project_id}/store/?sentry_key={dsn.public_key}", content=b"{}"
    )
    assert answer.status_code == 429
    limits = list(_parse_rate_limits(answer.headers["x-sentry-rate-limits"]))
    assert limits and limits[0][0] is None
    assert 1 <= int(answer.headers["retry-after"]) <= 60


def test_a_revoked_key_gets_403_from_the_fast_path(asgi_server, service):
    import httpx

    dsn, _ = make_dsn(service, asgi_server.url)
    dsn.revoke()
    answer = httpx.post(
        f"{asgi_server.url}/api/{dsn.project_id}/envelope/?sentry_key={dsn.public_key}", content=b"{}"
    )
    assert answer.status_code == 403 and "revoked" in answer.json()["detail"]
    assert answer.headers["access-control-allow-origin"] == "*"


def test_a_preflight_is_answered_by_the_fast_path(asgi_server, service):
    import httpx

    answer = httpx.options(f"{asgi_server.url}/api/123456/envelope/", headers={"Origin": "https://a.example"})
    assert answer.status_code == 200 and "x-sentry-auth" in answer.headers["access-control-allow-headers"]


def raw_request(port: int, head: bytes, chunks=(), timeout: float = 10) -> tuple[bytes, int]:
    """Send `head` then `chunks` until the server answers; return the answer and the body bytes sent."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        answer = b""
        for chunk in chunks:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            if answer:
                break
            try:
                sock.setblocking(True)
                sock.sendall(chunk)
                sent += len(chunk)
                sock.setblocking(False)
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            assert time.monotonic() < deadline, answer
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            answer += data
    return answer, sent


def bomb(encoding: str, expanded_mb: int = 300) -> bytes:
    """Return an envelope of zeros that expands to `expanded_mb` MB, compressed in pieces (never held whole)."""
    import brotli

    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if encoding == "gzip" else None
    brotli_compressor = brotli.Compressor(quality=5) if encoding == "br" else None
    out = []
    pieces = [b'{}\n{"type":"attachment"}\n'] + [b"\0" * (1024 * 1024)] * expanded_mb
    for piece in pieces:
        out.append(compressor.compress(piece) if compressor else brotli_compressor.process(piece))
    out.append(compressor.flush() if compressor else brotli_compressor.finish())
    return b"".join(out)


def head(dsn, extra: str) -> bytes:
    return (
        f"POST /api/{dsn.project_id}/envelope/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-Sentry-Auth: Sentry sentry_key={dsn.public_key}\r\n{extra}\r\n"
    ).encode()


def test_a_declared_50_mb_body_gets_413_before_it_is_sent(asgi_server, service):
    dsn, _ = make_dsn(service, asgi_server.url)
    started = time.monotonic()
    answer, sent = raw_request(asgi_server.port, head(dsn, f"Content-Length: {50 * 1024 * 1024}\r\n"))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"over the limit" in answer and sent == 0
    assert time.monotonic() - started < 5


def test_a_chunked_50_mb_body_is_cut_off_at_the_limit_with_memory_bounded(asgi_server, service, settings):
    settings.ERRORS_MAX_BODY = 5 * 1024 * 1024
    dsn, _ = make_dsn(service, asgi_server.url)
    piece = b"x" * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    tracemalloc.start()
    try:
        answer, sent = raw_request(
            asgi_server.port, head(dsn, "Transfer-Encoding: chunked\r\n"), [chunk] * (50 * 16)
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 20 * 1024 * 1024, "the server should answer long before 50 MB are sent"
    assert peak < 40 * 1024 * 1024
    assert not RawEnvelope.objects.exists()


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_compression_bomb_gets_413_with_memory_bounded(asgi_server, service, settings, encoding):
    settings.ERRORS_MAX_DECOMPRESSED = 8 * 1024 * 1024
    dsn, _ = make_dsn(service, asgi_server.url)
    body = bomb(encoding)
    tracemalloc.start()
    try:
        answer, _ = raw_request(
            asgi_server.port,
            head(dsn, f"Content-Encoding: {encoding}\r\nContent-Length: {len(body)}\r\n") + body,
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert answer.startswith(b"HTTP/1.1 413") and b"once decompressed" in answer, answer[:300]
    assert peak < 40 * 1024 * 1024, f"peak {peak} bytes"


def test_an_accepted_event_is_processed_by_the_job_and_leaves_the_spool(django_server, service):
    from keepwell.errors.models import ErrorEvent

    dsn, url = make_dsn(service, django_server.url, rate_limit=0)
    client = sdk_client(url)
    event_id = capture(client, ZeroDivisionError("division by zero"))
    client.flush(timeout=10)
    client.close()
    deadline = time.monotonic() + 10
    while not ErrorEvent.objects.filter(event_id=event_id).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ErrorEvent.objects.filter(service=service, event_id=event_id).exists()
    assert not RawEnvelope.objects.exists()


def test_the_fast_path_reconnects_when_the_database_drops_its_connection(transactional_db, settings, service):
    import httpx
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL drops connections; SQLite has none to drop")
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        (started,) = cursor.fetchone()
    for server in serve(settings, threads=1):  # one pool thread: the second request uses its old connection
        dsn, _ = make_dsn(service, server.url)
        url = f"{server.url}/api/{dsn.project_id}/store/?sentry_key={dsn.public_key}"
        assert httpx.post(url, content=b'{"message": "one"}').status_code == 200
        with connection.cursor() as cursor:
            cursor.execute(
                # Only the connections this test's server opened: other tests' live servers on this worker
                # (a browser test's, say) keep theirs.
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_start >= %s",
                [started],
            )
            assert cursor.fetchall(), "the server's pool thread had no connection to drop"
        answer = httpx.post(url, content=b'{"message": "two"}')
        assert answer.status_code == 200, answer.text


def test_small_and_large_envelopes_are_spooled_whether_group_committed_or_not(asgi_server, service, enqueued):
    import httpx

    from keepwell.errors.ingest_asgi import GROUP_MAX_BODY

    dsn, _ = make_dsn(service, asgi_server.url, rate_limit=0)
    url = f"{asgi_server.url}/api/{dsn.project_id}/envelope/?sentry_key={dsn.public_key}"

    def envelope(event_id: str, attachment: int) -> bytes:
        payload = b"x" * attachment
        item = f'{{"type":"attachment","length":{attachment},"filename":"a.txt"}}'.encode()
        event = b'{"message":"hi"}'
        return (
            f'{{"event_id":"{event_id}"}}\n{{"type":"event","length":{len(event)}}}\n'.encode()
            + event
            + b"\n"
            + item
            + b"\n"
            + payload
            + b"\n"
        )

    small, large = "1" * 32, "2" * 32
    with httpx.Client(timeout=10) as client:
        assert client.post(url, content=envelope(small, 10)).status_code == 200
        assert client.post(url, content=envelope(large, GROUP_MAX_BODY + 1)).status_code == 200
        assert client.post(url, content=envelope(large, GROUP_MAX_BODY + 1)).status_code == 200  # a copy
    rows = {row.event_id: row for row in RawEnvelope.objects.all()}
    assert set(rows) == {small, large}, "the second copy of the large one is dropped"
    assert len(rows[large].body) > GROUP_MAX_BODY
    deadline = time.monotonic() + 5
    while rows[large].pk not in enqueued and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rows[large].pk in enqueued
