"""Real HTTPS servers on loopback for the posture tests: a trustme CA, pinned TLS versions, chosen headers."""

import ssl
import threading
import warnings
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # version probes abort handshakes on purpose


def server_context(cert, *, min_version=ssl.TLSVersion.TLSv1_2, max_version=ssl.TLSVersion.MAXIMUM_SUPPORTED):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # old versions on purpose
        context.minimum_version, context.maximum_version = min_version, max_version
    return context


@contextmanager
def https_server(context, headers=(), status=200, routes=None):
    """Serve GET over TLS with `context`, answering `status` with `headers` (a list of (name, value));
    `routes` maps a path to its own (status, headers)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            code, answer = (routes or {}).get(self.path, (status, headers))
            self.send_response(code)
            for name, value in answer:
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = QuietServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def make_ca():
    return trustme.CA()


def leaf(ca, *, days=90, names=("localhost", "127.0.0.1")):
    now = datetime.now(UTC)
    return ca.issue_cert(*names, not_before=now - timedelta(days=1), not_after=now + timedelta(days=days))
