"""keepwell's own pages earn an A from its own posture check: keepwell served over real TLS on loopback,
configured as `KEEPWELL_BASE_URL=https://...` configures it, probed and graded like any monitored site."""

import json
import os
import subprocess
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import trustme
from django.core.handlers.wsgi import WSGIHandler
from security_tls import server_context

from keepwell.security import posture, posture_probe

A_OR_BETTER = ("A+", "A")


def https_settings() -> dict:
    """Return the header and cookie settings keepwell computes for an install whose BASE_URL is https."""
    env = {**os.environ, "KEEPWELL_BASE_URL": "https://keepwell.example.com"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    code = (
        "import json, keepwell.settings as s; print(json.dumps({k: getattr(s, k) for k in ("
        "'SECURE_HSTS_SECONDS', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY')}))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


class QuietHandler(WSGIRequestHandler):
    def get_environ(self):
        environ = super().get_environ()
        environ["HTTPS"] = "on"  # the connection is TLS: Django sees request.is_secure()
        return environ

    def log_message(self, *args):
        pass


class TlsWsgiServer(WSGIServer):
    def handle_error(self, request, client_address):
        pass  # the version probes abort handshakes on purpose


@pytest.fixture
def keepwell_over_tls(transactional_db, settings):
    """Serve keepwell's WSGI application over TLS (a trustme certificate); yield (base URL, CA file)."""
    settings.ALLOW_PRIVATE_TARGETS = True
    for name, value in https_settings().items():
        setattr(settings, name, value)
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    server = make_server(
        "127.0.0.1", 0, WSGIHandler(), server_class=TlsWsgiServer, handler_class=QuietHandler
    )
    server.socket = server_context(cert).wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        with ca.cert_pem.tempfile() as cafile:
            yield f"https://localhost:{server.server_address[1]}", cafile
    finally:
        server.shutdown()
        server.server_close()


def test_an_https_install_turns_on_hsts_and_secure_cookies():
    assert https_settings() == {
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
    }


@pytest.mark.parametrize("path", ["/accounts/login/", "/o/acme/security/"])
def test_keepwells_own_pages_earn_an_a(keepwell_over_tls, path):
    base, cafile = keepwell_over_tls
    obs = posture_probe.observe(base + path, cafile=cafile, timeout=10)
    assert obs.error == "" and obs.cert_error == ""
    result = posture.grade(obs)
    shown = "\n".join(f"{r.modifier:+d} {r.text}" for r in result.reasons)
    assert result.grade in A_OR_BETTER, f"{path}: {result.grade} ({result.score})\n{shown}"
    assert all(r.modifier >= 0 for r in result.reasons if r.test != "tls"), shown
    if path == "/accounts/login/":
        assert "csrftoken" in " ".join(obs.headers.get("set-cookie", []))  # the cookie test really ran
