"""The official Python sentry-sdk against a live keepwell on loopback: groups, counts, releases, regressions,
an app raising inside a request, and sessions with a release. Everything is read back through the HTTP API."""

import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest
import sentry_sdk
from errors_live import LiveKeepwell, wait_until
from sentry_sdk.integrations.wsgi import SentryWsgiMiddleware
from sentry_sdk.utils import event_from_exception

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def keepwell(transactional_db, settings, monkeypatch):
    from keepwell.errors import tasks

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    # The server spools what the SDK sends; the test runs the processing job itself (see errors_live).
    monkeypatch.setattr(tasks, "process_envelope", lambda raw_id: None)
    server = LiveKeepwell()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api(keepwell, acme, alice):
    with keepwell.api(acme, alice) as client:
        yield client


def client_for(dsn, release, **options):
    options.setdefault("default_integrations", False)
    options.setdefault("auto_session_tracking", False)
    options.setdefault("auto_enabling_integrations", False)  # never instrument the test process's Django
    return sentry_sdk.Client(dsn=dsn, release=release, environment="production", **options)


def under(client, func):
    """Run `func` with `client` as the SDK's client, then flush it (the events reach keepwell)."""
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        func()
    client.flush(timeout=10)


def load_cart(cart_id, path):
    cart = {"items": []}
    if path == "web":
        return cart["owner"]  # the bug, reached from the web
    return cart["owner"]  # the same bug, reached from a job


def captured(*args):
    try:
        load_cart(*args)
    except KeyError:
        sentry_sdk.capture_exception()


def groups(api, **query):
    response = api.get("/services/shop-api/error-groups", params=query)
    assert response.status_code == 200, response.text
    return {g["title"]: g for g in response.json()["items"]}


def test_exceptions_and_messages_are_grouped_and_counted(keepwell, api, service):
    client = client_for(keepwell.dsn(service), "shop@1.4.0")

    def run():
        captured(1, "web")
        captured(2, "job")
        captured(3, "web")
        sentry_sdk.capture_message("Payment 4411 took 12034 ms")
        sentry_sdk.capture_message("Payment 97 took 880 ms")
        try:
            int("not a number")
        except ValueError:
            sentry_sdk.capture_exception()

    under(client, run)
    keepwell.process()
    found = wait_until(lambda: (g := groups(api)) and sum(x["count"] for x in g.values()) == 6 and g)
    assert found["KeyError: 'owner'"]["count"] == 3, "one bug from two lines of one function: one group"
    assert found["Payment 97 took 880 ms"]["count"] == 2, "messages differing only in numbers: one group"
    assert found["ValueError: invalid literal for int() with base 10: 'not a number'"]["count"] == 1
    assert len(found) == 3
    assert all(g["status"] == "unresolved" and g["regressed"] is False for g in found.values())
    key_error = found["KeyError: 'owner'"]["id"]
    detail = api.get(f"/services/shop-api/error-groups/{key_error}").json()
    assert [r["value"] for r in detail["releases"]] == ["shop@1.4.0"]
    releases = api.get("/services/shop-api/releases").json()["items"]
    assert "shop@1.4.0" in [r["version"] for r in releases]
    findings = api.get("/findings", params={"service": "shop-api", "state": "open"}).json()["items"]
    assert sum(f["source"] == "errors" for f in findings) == 3


def test_a_resolved_group_regresses_on_a_newer_release_only(keepwell, api, service):
    dsn = keepwell.dsn(service)
    under(client_for(dsn, "shop@2.0.0"), lambda: captured(1, "web"))
    keepwell.process()
    group = wait_until(lambda: groups(api).get("KeyError: 'owner'"))
    resolved = api.patch(f"/services/shop-api/error-groups/{group['id']}", json={"status": "resolved"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"

    under(client_for(dsn, "shop@1.9.0"), lambda: captured(1, "job"))  # an old server still running
    keepwell.process()
    group = wait_until(
        lambda: (g := groups(api, status="resolved").get("KeyError: 'owner'")) and g["count"] == 2 and g
    )
    assert (group["status"], group["regressed"]) == ("resolved", False)

    under(client_for(dsn, "shop@2.0.1"), lambda: captured(1, "web"))
    keepwell.process()
    group = wait_until(lambda: groups(api).get("KeyError: 'owner'"))
    assert (group["status"], group["regressed"], group["count"]) == ("unresolved", True, 3)
    findings = api.get("/findings", params={"service": "shop-api", "state": "open"}).json()["items"]
    assert [f["severity"] for f in findings if f["source"] == "errors"] == ["critical"]


def test_an_app_raising_inside_a_request_is_captured_with_the_request(keepwell, api, service):
    client = client_for(keepwell.dsn(service), "shop@3.0.0")

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/checkout":
            basket = {}
            basket["total"] += 1  # KeyError inside the request
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    sentry_sdk.init()  # the middleware uses the current client: set it for the server's thread below
    wrapped = SentryWsgiMiddleware(app)
    server = make_server("127.0.0.1", 0, wrapped, handler_class=Quiet)
    server.timeout = 10  # handle_request waits this long for the one request below (a loaded machine is slow)

    def serve():
        with sentry_sdk.isolation_scope() as scope:
            scope.set_client(client)
            server.handle_request()

    thread = threading.Thread(target=serve)
    thread.start()
    answer = httpx.get(
        f"http://127.0.0.1:{server.server_port}/checkout?coupon=SPRING", headers={"User-Agent": "shopper/1.0"}
    )
    thread.join(10)
    server.server_close()
    client.flush(timeout=10)
    keepwell.process()
    assert answer.status_code == 500
    group = wait_until(lambda: groups(api).get("KeyError: 'total'"))
    events = api.get(f"/services/shop-api/error-groups/{group['id']}/events").json()["items"]
    event = api.get(f"/services/shop-api/error-groups/{group['id']}/events/{events[0]['event_id']}").json()
    request = event["data"]["request"]
    assert request["method"] == "GET" and request["url"].endswith("/checkout")
    assert request["query_string"] == "coupon=SPRING"
    assert ["User-Agent", "shopper/1.0"] in request["headers"]
    exc = event["data"]["exceptions"][-1]
    assert exc["handled"] is False and exc["frames"][-1]["function"] == "app"
    assert event["release"] == "shop@3.0.0"


def test_sessions_with_a_release_give_crash_free_rates(keepwell, api, service):
    client = client_for(keepwell.dsn(service), "shop@4.0.0")

    def sessions():
        for user, crash in (("u1", False), ("u2", False), ("u3", False), ("u1", True)):
            with sentry_sdk.isolation_scope() as scope:
                scope.set_user({"id": user})
                scope.start_session(session_mode="application")
                if crash:
                    try:
                        raise RuntimeError("the app crashed")
                    except RuntimeError as exc:
                        event, hint = event_from_exception(
                            exc,
                            client_options=client.options,
                            mechanism={"type": "excepthook", "handled": False},
                        )
                        sentry_sdk.capture_event(event, hint=hint)  # an unhandled error: the session crashed
                scope.end_session()

    under(client, sessions)
    keepwell.process()
    client.close()
    health = wait_until(
        lambda: (
            (h := api.get("/services/shop-api/release-health", params={"release": "shop@4.0.0"}).json())
            and h["sessions"] == 4
            and h
        )
    )
    assert health["crash_free_sessions"] == 75.0
    assert (health["users"], health["crashed_users"]) == (3, 1)
    assert health["crash_free_users"] == pytest.approx(66.667)
