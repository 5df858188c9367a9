"""The PyPI and npm registries, through one HTTP cache on disk. No Django.

    client = RegistryClient(pypi_url="https://pypi.org", npm_url="https://registry.npmjs.org", cache_dir=path)
    packages = client.fetch([("PyPI", "django"), ("npm", "react")])   # {(ecosystem, name): Package}

Requests run concurrently (httpx async, at most `concurrency` at once), are retried with exponential backoff on
network errors, 429 and 5xx, and are revalidated with ETag / Last-Modified once older than `ttl` seconds.
The cache keeps what keepwell reads from a document (versions, release times, yanked and deprecated marks),
not the document itself, so a warm scan of hundreds of packages reads a few kilobytes each. With
`offline=True` nothing is requested: answers come from the cache, and a package never fetched says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx

from .types import NPM, PYPI

PYPI_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,198}[A-Za-z0-9])?$")
NPM_NAME = re.compile(r"^(?:@[a-z0-9][a-z0-9._~-]{0,100}/)?[a-z0-9_][a-z0-9._~-]{0,213}$", re.IGNORECASE)
RETRY_STATUSES = {429, 500, 502, 503, 504}
PYPI_URL = "https://pypi.org"  # the public registries, the defaults of KEEPWELL_DEPS_PYPI_URL and _NPM_URL
NPM_URL = "https://registry.npmjs.org"
CACHE_FORMAT = 1
USER_AGENT = "keepwell-dependencies (+https://github.com/keepwell)"


@dataclass
class Release:
    version: str
    released: datetime | None = None
    yanked: bool = False
    yanked_reason: str = ""
    deprecated: str = ""  # npm's deprecation message; "" when not deprecated


@dataclass
class Package:
    ecosystem: str
    name: str
    releases: dict[str, Release] = field(default_factory=dict)
    latest_tag: str = ""  # npm's dist-tags.latest, PyPI's info.version
    error: str = ""  # why nothing is known, e.g. "not found on https://pypi.org"
    stale: bool = False  # answered from an old cache entry because the registry did not answer

    def release(self, version: str | None) -> Release | None:
        """Return the release `version`, matched as the ecosystem compares versions ("4.2.0" is PyPI's "4.2")."""
        if not version:
            return None
        found = self.releases.get(version)
        if found is not None or self.ecosystem != PYPI:
            return found
        from packaging.version import InvalidVersion, Version

        try:
            wanted = Version(version)
        except InvalidVersion:
            return None
        for key, release in self.releases.items():
            try:
                if Version(key) == wanted:
                    return release
            except InvalidVersion:
                continue
        return None


def valid_name(ecosystem: str, name: str) -> bool:
    """Return True when `name` can be a package name of `ecosystem` (keeps odd names out of URLs)."""
    pattern = PYPI_NAME if ecosystem == PYPI else NPM_NAME
    return isinstance(name, str) and bool(pattern.match(name))


def _time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def summarize_pypi(doc) -> dict:
    """Return the cacheable summary of a PyPI JSON API document (/pypi/<name>/json)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("releases"), dict):
        raise ValueError("the answer is not a PyPI JSON API document (no 'releases' object)")
    releases = []
    for version, files in doc["releases"].items():
        if not isinstance(files, list) or not files:
            continue  # a version without files cannot be installed; pip ignores it too
        files = [f for f in files if isinstance(f, dict)]
        times = [
            t for t in (_time(f.get("upload_time_iso_8601") or f.get("upload_time")) for f in files) if t
        ]
        yanked = bool(files) and all(f.get("yanked") for f in files)
        reason = next((str(f.get("yanked_reason") or "") for f in files if f.get("yanked")), "")
        released = min(times).isoformat() if times else None
        releases.append([str(version), released, yanked, reason[:300] if yanked else "", ""])
    info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
    return {"releases": releases, "latest": str(info.get("version") or "")}


def summarize_npm(doc) -> dict:
    """Return the cacheable summary of an npm registry package document (/<name>)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("versions"), dict):
        raise ValueError("the answer is not an npm package document (no 'versions' object)")
    times = doc.get("time") if isinstance(doc.get("time"), dict) else {}
    releases = []
    for version, manifest in doc["versions"].items():
        deprecated = manifest.get("deprecated") if isinstance(manifest, dict) else None
        message = deprecated if isinstance(deprecated, str) else ("deprecated" if deprecated else "")
        released = _time(times.get(version))
        releases.append([str(version), released.isoformat() if released else None, False, "", message[:300]])
    tags = doc.get("dist-tags") if isinstance(doc.get("dist-tags"), dict) else {}
    return {"releases": releases, "latest": str(tags.get("latest") or "")}


def package_from(ecosystem: str, name: str, summary: dict, stale: bool = False) -> Package:
    releases = {}
    for version, released, yanked, reason, deprecated in summary.get("releases", []):
        releases[version] = Release(version, _time(released), bool(yanked), reason or "", deprecated or "")
    return Package(ecosystem, name, releases, summary.get("latest", ""), stale=stale)


class Cache:
    """Summaries of registry documents with their validators, one small JSON file per URL."""

    def __init__(self, directory: Path | str | None):
        self.directory = Path(directory) if directory else None

    def _path(self, url: str) -> Path | None:
        if self.directory is None:
            return None
        digest = hashlib.sha256(url.encode()).hexdigest()
        return self.directory / digest[:2] / f"{digest}.json"

    def get(self, url: str) -> dict | None:
        path = self._path(url)
        if path is None:
            return None
        try:
            entry = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None  # missing or damaged: fetch again
        if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT or entry.get("url") != url:
            return None
        return entry

    def put(self, url: str, entry: dict) -> None:
        path = self._path(url)
        if path is None:
            return
        entry = {**entry, "format": CACHE_FORMAT, "url": url}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write beside and rename: a reader never sees half a file, two writers never mix theirs.
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                json.dump(entry, f, separators=(",", ":"))
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only makes the next scan slower


class RegistryClient:
    def __init__(
        self,
        *,
        pypi_url: str = PYPI_URL,
        npm_url: str = NPM_URL,
        cache_dir: Path | str | None = None,
        offline: bool = False,
        concurrency: int = 16,
        retries: int = 3,
        ttl: int = 3600,
        timeout: float = 20.0,
        backoff: float = 0.5,
        max_bytes: int = 64 * 1024 * 1024,
        guard: Callable[[str], object] | None = None,
    ):
        self.pypi_url = pypi_url.rstrip("/")
        self.npm_url = npm_url.rstrip("/")
        self.cache = Cache(cache_dir)
        self.offline = offline
        self.concurrency = max(1, concurrency)
        self.retries = max(0, retries)
        self.ttl = ttl
        self.timeout = timeout
        self.backoff = backoff
        self.max_bytes = max_bytes
        self.guard = guard  # called with each registry URL before the first request; raises to refuse it
        self.requests = 0  # HTTP requests sent, retries included
        self.cache_hits = 0  # answered from the cache without a request (fresh, offline or 304)

    def url_for(self, ecosystem: str, name: str) -> str:
        if ecosystem == PYPI:
            return f"{self.pypi_url}/pypi/{quote(name, safe='')}/json"
        return f"{self.npm_url}/{quote(name, safe='@')}"

    def fetch(
        self, items: Iterable[tuple[str, str]], progress: Callable[[], None] | None = None
    ) -> dict[tuple[str, str], Package]:
        """Return what the registries know of each (ecosystem, name); `progress()` is called after each."""
        wanted = list(dict.fromkeys(items))
        if not wanted:
            return {}
        return asyncio.run(self._fetch_all(wanted, progress))

    async def _fetch_all(self, wanted, progress):
        refused = self._check_guard({eco for eco, _ in wanted})
        semaphore = asyncio.Semaphore(self.concurrency)
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        headers = {"User-Agent": USER_AGENT}
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits, headers=headers) as client:

            async def one(eco, name):
                async with semaphore:
                    if eco in refused:
                        package = Package(eco, name, error=refused[eco])
                    else:
                        package = await self._package(client, eco, name)
                if progress:
                    progress()
                return (eco, name), package

            results = await asyncio.gather(*(one(eco, name) for eco, name in wanted))
        return dict(results)

    def _check_guard(self, ecosystems) -> dict[str, str]:
        refused = {}
        if self.guard is None or self.offline:
            return refused
        for eco in ecosystems:
            base = self.pypi_url if eco == PYPI else self.npm_url
            try:
                self.guard(base)
            except ValueError as exc:
                refused[eco] = f"the registry {base} is refused: {exc}"
        return refused

    async def _package(self, client, eco: str, name: str) -> Package:
        if eco not in (PYPI, NPM):
            return Package(eco, name, error=f"keepwell reads no registry for the ecosystem {eco!r}")
        if not valid_name(eco, name):
            return Package(eco, name, error=f"{name[:100]!r} is not a valid {eco} package name")
        url = self.url_for(eco, name)
        entry = self.cache.get(url)
        if self.offline:
            if entry is None:
                return Package(eco, name, error="not in the cache, and the scan is offline")
            self.cache_hits += 1
            return package_from(eco, name, entry["data"])
        if entry is not None and time.time() - entry.get("stored", 0) < self.ttl:
            self.cache_hits += 1
            return package_from(eco, name, entry["data"])
        try:
            status, headers, body = await self._get(client, url, entry)
        except httpx.HTTPError as exc:
            return self._fallback(eco, name, entry, f"the registry did not answer ({type(exc).__name__})")
        except _TooLarge:
            return Package(eco, name, error=f"the registry's answer is larger than {self.max_bytes} bytes")
        if status == 304 and entry is not None:
            self.cache_hits += 1
            self.cache.put(url, {**entry, "stored": time.time()})
            return package_from(eco, name, entry["data"])
        if status == 404:
            return Package(eco, name, error=f"not found on {self.pypi_url if eco == PYPI else self.npm_url}")
        if status != 200:
            return self._fallback(eco, name, entry, f"the registry answered HTTP {status}")
        try:
            doc = json.loads(body)
            data = summarize_pypi(doc) if eco == PYPI else summarize_npm(doc)
        except ValueError as exc:
            return self._fallback(eco, name, entry, f"the registry's answer cannot be read: {exc}")
        self.cache.put(
            url,
            {
                "stored": time.time(),
                "etag": headers.get("etag", ""),
                "last_modified": headers.get("last-modified", ""),
                "data": data,
            },
        )
        return package_from(eco, name, data)

    def _fallback(self, eco, name, entry, error) -> Package:
        if entry is not None:
            return package_from(eco, name, entry["data"], stale=True)
        return Package(eco, name, error=error)

    async def _get(self, client, url: str, entry: dict | None):
        headers = {"Accept": "application/json"}
        if entry:
            if entry.get("etag"):
                headers["If-None-Match"] = entry["etag"]
            if entry.get("last_modified"):
                headers["If-Modified-Since"] = entry["last_modified"]
        attempt = 0
        while True:
            self.requests += 1
            try:
                async with client.stream("GET", url, headers=headers) as response:
                    if response.status_code in RETRY_STATUSES and attempt < self.retries:
                        wait = self._delay(attempt, response.headers.get("retry-after"))
                    else:
                        body = b""
                        if response.status_code == 200:
                            chunks, size = [], 0
                            async for chunk in response.aiter_bytes():
                                size += len(chunk)
                                if size > self.max_bytes:
                                    raise _TooLarge()
                                chunks.append(chunk)
                            body = b"".join(chunks)
                        return response.status_code, response.headers, body
            except (httpx.TransportError, httpx.DecodingError):
                if attempt >= self.retries:
                    raise
                wait = self._delay(attempt, None)
            attempt += 1
            await asyncio.sleep(wait)

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after.strip()), 30.0)
        return min(self.backoff * (2**attempt), 30.0) * (0.5 + random.random() / 2)


class _TooLarge(Exception):
    pass
