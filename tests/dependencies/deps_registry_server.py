"""A fake package registry on loopback: PyPI's JSON and simple APIs with real wheels, npm documents and tarballs.

pip installs from it (`--index-url <url>/simple/`), npm, pnpm and yarn from it (`--registry <url>/npm/`), and
keepwell reads it as PyPI (`<url>`) and npm (`<url>/npm`). Every request is counted; ETags are honoured; a package
can be told to fail its next N requests with 503.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import tarfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def days(n: float) -> datetime:
    return EPOCH + timedelta(days=n)


def _wheel(name: str, version: str, body: str) -> tuple[str, bytes]:
    """Return (filename, bytes) of a real pure-Python wheel of `name` `version`."""
    module = name.replace("-", "_")
    dist = f"{module}-{version}"
    files = {
        f"{module}/__init__.py": body or f'__version__ = "{version}"\n',
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: keepwell-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record) + "\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path, text in files.items():
            z.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), text)
    return f"{dist}-py3-none-any.whl", buf.getvalue()


def _tarball(name: str, version: str, body: str, dependencies: dict | None = None) -> bytes:
    manifest = {"name": name, "version": version, "main": "index.js"}
    if dependencies:
        manifest["dependencies"] = dependencies
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for path, text in {
            "package/package.json": json.dumps(manifest),
            "package/index.js": body or f"module.exports = {json.dumps(version)};\n",
        }.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), 1577836800, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@dataclass
class PyRelease:
    version: str
    time: datetime
    yanked: bool = False
    yanked_reason: str = ""
    body: str = ""  # the module's __init__.py


@dataclass
class NpmRelease:
    version: str
    time: datetime
    deprecated: str = ""
    body: str = ""
    dependencies: dict[str, str] = field(default_factory=dict)  # name → range, in the version document


@dataclass
class Registry:
    pypi: dict[str, list[PyRelease]] = field(default_factory=dict)
    npm: dict[str, list[NpmRelease]] = field(default_factory=dict)
    npm_latest: dict[str, str] = field(default_factory=dict)  # dist-tags.latest when not the last added
    files: dict[str, bytes] = field(default_factory=dict)  # path → bytes (wheels, tarballs)
    requests: list[str] = field(default_factory=list)
    fail_next: dict[str, int] = field(default_factory=dict)  # package name → how many 503s to answer first
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: float = 0.0  # seconds each document request takes (to observe concurrency)
    in_flight: int = 0
    max_in_flight: int = 0

    # --- building ---------------------------------------------------------------------------------
    def add_pypi(self, name, version, day, yanked=False, reason="", body="", files=True):
        release = PyRelease(version, days(day), yanked, reason, body)
        self.pypi.setdefault(name, []).append(release)
        if files:
            filename, data = _wheel(name, version, body)
            self.files[f"/files/{filename}"] = data
        return release

    def add_npm(self, name, version, day, deprecated="", body="", dependencies=None):
        release = NpmRelease(version, days(day), deprecated, body, dict(dependencies or {}))
        self.npm.setdefault(name, []).append(release)
        self.files[f"/npm/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"] = _tarball(
            name, version, body, dependencies
        )

    # --- documents --------------------------------------------------------------------------------
    def _wheel_name(self, name, version):
        return f"{name.replace('-', '_')}-{version}-py3-none-any.whl"

    def pypi_json(self, name) -> dict | None:
        releases = self.pypi.get(name)
        if releases is None:
            return None
        out = {}
        for r in releases:
            path = f"/files/{self._wheel_name(name, r.version)}"
            files = []
            if path in self.files:
                files.append(
                    {
                        "filename": path.rsplit("/", 1)[-1],
                        "url": self.url + path,
                        "upload_time_iso_8601": r.time.isoformat().replace("+00:00", ".000000Z"),
                        "yanked": r.yanked,
                        "yanked_reason": r.yanked_reason or None,
                        "digests": {"sha256": hashlib.sha256(self.files[path]).hexdigest()},
                        "packagetype": "bdist_wheel",
                    }
                )
            out[r.version] = files
        stable = [r.version for r in releases if not r.yanked]
        return {
            "info": {"name": name, "version": stable[-1] if stable else releases[-1].version},
            "releases": out,
        }

    def simple(self, name, as_json: bool) -> tuple[bytes, str] | None:
        releases = self.pypi.get(name)
        if releases is None:
            return None
        files = []
        for r in releases:
            path = f"/files/{self._wheel_name(name, r.version)}"
            if path not in self.files:
                continue
            digest = hashlib.sha256(self.files[path]).hexdigest()
            files.append((path.rsplit("/", 1)[-1], self.url + path, digest, r))
        if as_json:
            doc = {
                "meta": {"api-version": "1.0"},
                "name": name,
                "files": [
                    {
                        "filename": f,
                        "url": u,
                        "hashes": {"sha256": d},
                        **({"yanked": r.yanked_reason or True} if r.yanked else {}),
                    }
                    for f, u, d, r in files
                ],
            }
            return json.dumps(doc).encode(), "application/vnd.pypi.simple.v1+json"
        links = "".join(
            f'<a href="{html.escape(u)}#sha256={d}"'
            + (f' data-yanked="{html.escape(r.yanked_reason)}"' if r.yanked else "")
            + f">{html.escape(f)}</a>\n"
            for f, u, d, r in files
        )
        return f"<!DOCTYPE html><html><body>{links}</body></html>".encode(), "text/html"

    def npm_doc(self, name) -> dict | None:
        releases = self.npm.get(name)
        if releases is None:
            return None
        versions, times = {}, {}
        short = name.rsplit("/", 1)[-1]
        for r in releases:
            path = f"/npm/{name}/-/{short}-{r.version}.tgz"
            data = self.files[path]
            manifest = {
                "name": name,
                "version": r.version,
                "main": "index.js",
                "dist": {
                    "tarball": self.url + path,
                    "shasum": hashlib.sha1(data).hexdigest(),
                    "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
                },
            }
            if r.deprecated:
                manifest["deprecated"] = r.deprecated
            if r.dependencies:
                manifest["dependencies"] = r.dependencies
            versions[r.version] = manifest
            times[r.version] = r.time.isoformat().replace("+00:00", ".000Z")
        stable = [r.version for r in releases if "-" not in r.version]
        latest = self.npm_latest.get(name) or (stable or [releases[-1].version])[-1]
        return {"name": name, "dist-tags": {"latest": latest}, "versions": versions, "time": times}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, code, body=b"", content_type="application/json", etag=None):
        if etag and self.headers.get("If-None-Match") == etag and code == 200:
            code, body = 304, b""
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        reg: Registry = self.server.registry
        path = self.path.split("?", 1)[0]
        with reg.lock:
            reg.requests.append(path)
        name = None
        if path.startswith("/pypi/") and path.endswith("/json"):
            name = unquote(path[len("/pypi/") : -len("/json")])
        elif path.startswith("/npm/") and "/-/" not in path:
            name = unquote(path[len("/npm/") :])
        if name is not None:
            with reg.lock:
                left = reg.fail_next.get(name, 0)
                if left:
                    reg.fail_next[name] = left - 1
            if left:
                return self._send(503, b'{"error": "try again"}')
        if name is not None and reg.delay:
            with reg.lock:
                reg.in_flight += 1
                reg.max_in_flight = max(reg.max_in_flight, reg.in_flight)
            time.sleep(reg.delay)
            with reg.lock:
                reg.in_flight -= 1
        if path.startswith("/pypi/") and path.endswith("/json"):
            doc = reg.pypi_json(name)
            return self._json(doc)
        if path.startswith("/simple/"):
            key = unquote(path[len("/simple/") :].strip("/"))
            accept = self.headers.get("Accept", "")
            answer = reg.simple(key, "application/vnd.pypi.simple.v1+json" in accept)
            if answer is None:
                return self._send(404, b"not found", "text/plain")
            return self._send(200, answer[0], answer[1])
        if path in reg.files:
            return self._send(200, reg.files[path], "application/octet-stream")
        if path.startswith("/npm/"):
            return self._json(reg.npm_doc(name))
        return self._send(404, b'{"error": "not found"}')

    do_HEAD = do_GET  # uv asks for a wheel's size before reading its metadata; _send leaves the body out

    def _json(self, doc):
        if doc is None:
            return self._send(404, b'{"message": "Not Found"}')
        body = json.dumps(doc).encode()
        return self._send(200, body, etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def start(registry: Registry | None = None):
    """Start a server for `registry` on loopback; return (registry, stop)."""
    registry = registry or Registry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.registry = registry
    registry.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def stop():
        server.shutdown()
        server.server_close()

    return registry, stop
