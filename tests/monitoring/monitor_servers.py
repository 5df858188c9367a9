"""Real servers on loopback for the monitor checks: HTTP(S), a bare TCP port, a DNS server, a TLS port."""

import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    """Answers by path: /ok, /json, /status/<code>, /slow, /redirect, /to-localhost, /loop, /echo, /big."""

    protocol_version = "HTTP/1.1"

    def _answer(self, code, body=b"", content_type="text/plain", headers=None):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        path = self.path
        self.server.requests.append((self.command, path, dict(self.headers)))
        if path == "/ok":
            self._answer(200, b"all systems nominal")
        elif path == "/json":
            body = json.dumps({"status": "green", "data": [{"ok": True, "name": "db"}], "count": 3})
            self._answer(200, body.encode(), "application/json")
        elif path.startswith("/status/"):
            self._answer(int(path.rsplit("/", 1)[1]), b"status page")
        elif path == "/slow":
            time.sleep(0.5)
            self._answer(200, b"slow but fine")
        elif path == "/redirect":
            self._answer(302, headers={"Location": "/ok"})
        elif path == "/to-localhost":
            self._answer(302, headers={"Location": f"http://localhost:{self.server.server_address[1]}/ok"})
        elif path == "/loop":
            self._answer(302, headers={"Location": "/loop"})
        elif path == "/echo":
            length = int(self.headers.get("Content-Length") or 0)
            self._answer(200, self.rfile.read(length) or self.headers.get("X-Token", "").encode())
        elif path == "/big":
            self._answer(200, b"x" * 3_000_000 + b"needle")
        else:
            self._answer(404, b"not found")

    do_HEAD = do_POST = do_PUT = do_GET

    def log_message(self, *args):
        pass


class HttpServer:
    def __init__(self, context: ssl.SSLContext | None = None):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.requests = []
        if context is not None:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        scheme = "https" if context else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def requests(self):
        return self.server.requests

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TlsPort:
    """A TLS server that completes handshakes with `cert` and closes."""

    def __init__(self, cert):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.context = context
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.1)
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            try:
                conn.settimeout(2)
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def close(self):
        self.running = False
        self.thread.join(1)
        self.sock.close()


class DnsServer:
    """A UDP DNS server on loopback answering from `records` {(name, type): [values]}; NXDOMAIN otherwise."""

    def __init__(self, records):
        self.records = records
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import dns.message
        import dns.rcode
        import dns.rdatatype
        import dns.rrset

        while self.running:
            try:
                data, addr = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".")
            rdtype = dns.rdatatype.to_text(question.rdtype)
            values = self.records.get((name, rdtype))
            if values is None and not any(key[0] == name for key in self.records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif values:
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", rdtype, *values))
            self.sock.sendto(response.to_wire(), addr)

    def close(self):
        self.running = False
        self.thread.join(1)
        self.sock.close()
