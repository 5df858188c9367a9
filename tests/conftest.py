"""Shared fixtures: alice owns acme, bob is a member of acme, charlie owns another organization."""

import time

import pytest
from django.test import Client

from keepwell.core.models import ApiToken, Membership, Organization, Role, Service, User


@pytest.fixture
def acme(db):
    return Organization.objects.create(slug="acme", name="Acme")


@pytest.fixture
def other_org(db):
    return Organization.objects.create(slug="globex", name="Globex")


def _member(org, email, role):
    user = User.objects.create_user(email, "correct horse battery staple")
    Membership.objects.create(organization=org, user=user, role=role)
    return user


@pytest.fixture
def alice(acme):
    return _member(acme, "alice@example.org", Role.OWNER)


@pytest.fixture
def bob(acme):
    return _member(acme, "bob@example.org", Role.MEMBER)


@pytest.fixture
def victor(acme):
    """A viewer of acme."""
    return _member(acme, "victor@example.org", Role.VIEWER)


@pytest.fixture
def charlie(other_org):
    return _member(other_org, "charlie@example.org", Role.OWNER)


@pytest.fixture
def service(acme):
    return Service.objects.create(organization=acme, name="Shop API", slug="shop-api")


@pytest.fixture
def alice_client(alice):
    c = Client()
    c.force_login(alice)
    return c


@pytest.fixture
def charlie_client(charlie):
    c = Client()
    c.force_login(charlie)
    return c


class ApiClient:
    """A test client that sends a Bearer token and JSON."""

    def __init__(self, token):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def _send(self, method, path, data=None, **extra):
        kwargs = {"headers": {**self.headers, **extra.pop("headers", {})}, **extra}
        if data is not None and "content_type" not in kwargs and method != "get":
            kwargs["content_type"] = "application/json"
        return (
            getattr(self.client, method)(path, data, **kwargs)
            if data is not None
            else getattr(self.client, method)(path, **kwargs)
        )

    def get(self, path, data=None, **extra):
        return self._send("get", path, data, **extra)

    def post(self, path, data=None, **extra):
        return self._send("post", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self._send("patch", path, data, **extra)

    def put(self, path, data=None, **extra):
        return self._send("put", path, data, **extra)

    def delete(self, path, data=None, **extra):
        return self._send("delete", path, data, **extra)


@pytest.fixture
def alice_api(alice, acme):
    _, token = ApiToken.issue(acme, alice, write=True)
    return ApiClient(token)


@pytest.fixture
def alice_api_readonly(alice, acme):
    _, token = ApiToken.issue(acme, alice, write=False)
    return ApiClient(token)


@pytest.fixture
def charlie_api(charlie, other_org):
    _, token = ApiToken.issue(other_org, charlie, write=True)
    return ApiClient(token)


# --- Real servers on loopback -------------------------------------------------------------------------


class _MailSink:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []  # email.message.EmailMessage objects

    async def handle_DATA(self, server, session, envelope):
        import email
        import email.policy

        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        msg.envelope_to = list(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback; Django's SMTP backend sends to it. Yields the list of messages."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = _MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    try:
        yield sink.messages
    finally:
        controller.stop()


class WebhookReceiver:
    """A real HTTP server on loopback that records each request; answers `status` (default 200)."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests = []
        self.status = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            do_PUT = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        # A short poll interval makes shutdown() return at once instead of after half a second.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def json(self):
        import json

        with self.lock:
            return [json.loads(r["body"] or b"null") for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver(settings):
    """A local HTTP receiver; private targets are allowed for the test so keepwell may post to it."""
    settings.ALLOW_PRIVATE_TARGETS = True
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.close()


@pytest.fixture
def one_rate_minute():
    """Start the test with at least 20 s left in the clock minute.

    An error-tracking key's rate limit counts envelopes per clock minute (`now // 60`): a test that sends over
    the limit and crossed into the next minute half-way would see its count start again.
    """
    left = 60 - time.time() % 60
    if left < 20:
        time.sleep(left + 0.1)
