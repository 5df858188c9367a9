"""A real HTTP server on loopback that counts the requests to each path, for the prober's tests."""

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class CountingServer:
    """Answer every path with 200 (or the status set in `statuses`) and count the requests to each."""

    def __init__(self):
        self.hits: Counter = Counter()
        self.statuses: dict[str, int] = {}
        self.set_cookies: dict[str, str] = {}  # path -> a Set-Cookie header to answer with
        self.cookies_seen: list[tuple[str, str]] = []  # (path, Cookie header) of each request that sent one
        self.lock = threading.Lock()
        counting = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with counting.lock:
                    counting.hits[self.path] += 1
                    if self.headers.get("Cookie"):
                        counting.cookies_seen.append((self.path, self.headers["Cookie"]))
                status = counting.statuses.get(self.path, 200)
                body = b"fine" if status < 400 else b"broken"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                if self.path in counting.set_cookies:
                    self.send_header("Set-Cookie", counting.set_cookies[self.path])
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def count(self, path: str) -> int:
        with self.lock:
            return self.hits[path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
