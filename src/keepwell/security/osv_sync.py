"""Keep the local OSV index fresh: download each ecosystem's export, then rebuild the index from all of them.

Exports are kept in KEEPWELL_DATA_DIR/osv/sources/ with their ETag, so a refresh that finds nothing new sends
conditional requests and rebuilds nothing. A lock file keeps two workers from doing the same work at once;
the index itself is replaced atomically, so scans running meanwhile keep reading the previous one.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

from .osv import ECOSYSTEMS, BuildStats, OsvError, build
from .scan import index_path, osv_dir

MAX_REDIRECTS = 5
CHUNK = 1 << 20


@dataclass
class UpdateResult:
    downloaded: list[str] = field(default_factory=list)  # ecosystems whose export changed
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # ecosystem -> why
    stats: BuildStats | None = None  # set when the index was rebuilt
    skipped_busy: bool = False  # another process holds the lock


class _Lock:
    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.file = open(folder / ".lock", "w")  # noqa: SIM115

    def acquire(self) -> bool:
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def close(self) -> None:
        self.file.close()  # releases the lock


def sources_dir(data_dir=None) -> Path:
    return osv_dir(data_dir) / "sources"


def _export_path(data_dir, ecosystem: str) -> Path:
    return sources_dir(data_dir) / f"{ecosystem}-all.zip"


def download(url: str, dest: Path, *, etag: str = "", max_bytes: int, timeout: float = 60.0) -> dict | None:
    """Download `url` into `dest` through the outbound guard; return its cache headers, None when unchanged."""
    import httpx

    from keepwell.core import netguard

    headers = {"If-None-Match": etag} if etag else {}
    with httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": "keepwell"}) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                netguard.check_url(url)
            except netguard.BlockedTarget as exc:
                raise OsvError(f"{url}: {exc}") from None
            with client.stream("GET", url, headers=headers) as response:
                if response.status_code in (301, 302, 303, 307, 308) and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code == 304:
                    return None
                if response.status_code != 200:
                    raise OsvError(
                        f"{url} answered HTTP {response.status_code}; the previous export is kept."
                    )
                fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
                try:
                    size = 0
                    with os.fdopen(fd, "wb") as out:
                        for chunk in response.iter_bytes(CHUNK):
                            size += len(chunk)
                            if size > max_bytes:
                                raise OsvError(
                                    f"{url} is larger than {max_bytes // 2**20} MiB (KEEPWELL_OSV_MAX_DOWNLOAD_MB); "
                                    "the previous export is kept."
                                )
                            out.write(chunk)
                    if not zipfile.is_zipfile(tmp):
                        raise OsvError(f"{url} did not send a zip file; the previous export is kept.")
                    os.replace(tmp, dest)
                finally:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
                return {"etag": response.headers.get("etag", ""), "url": url}
        raise OsvError(f"{url} redirects more than {MAX_REDIRECTS} times.")


def update(
    *,
    data_dir,
    url_template: str,
    ecosystems=ECOSYSTEMS,
    max_bytes: int = 4 * 2**30,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> UpdateResult:
    """Fetch the exports of `ecosystems` that changed and rebuild the index when any did (or when it is missing)."""
    result = UpdateResult()
    folder = sources_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    lock = _Lock(osv_dir(data_dir))
    try:
        if not lock.acquire():
            result.skipped_busy = True
            return result
        for ecosystem in ecosystems:
            dest = _export_path(data_dir, ecosystem)
            meta_file = dest.with_suffix(".json")
            meta = {}
            if meta_file.exists() and dest.exists() and not force:
                try:
                    meta = json.loads(meta_file.read_text())
                except ValueError:
                    meta = {}
            try:
                url = url_template.format(ecosystem=ecosystem)
            except (KeyError, IndexError, ValueError):
                result.failed[ecosystem] = (
                    f"KEEPWELL_OSV_URL ({url_template}) is not a valid template: use {{ecosystem}} where the "
                    "ecosystem's name goes, and no other braces."
                )
                continue
            try:
                fresh = download(url, dest, etag=meta.get("etag", ""), max_bytes=max_bytes)
            except OsvError as exc:
                result.failed[ecosystem] = str(exc)
                continue
            except Exception as exc:  # noqa: BLE001 — network errors of every kind: keep the previous export
                result.failed[ecosystem] = (
                    f"{url}: {exc.__class__.__name__}: {exc}; the previous export is kept."
                )
                continue
            if fresh is None:
                result.unchanged.append(ecosystem)
            else:
                meta_file.write_text(json.dumps(fresh))
                result.downloaded.append(ecosystem)
        exports = sorted(folder.glob("*-all.zip"))
        if exports and (result.downloaded or force or not index_path(data_dir).exists()):
            try:
                result.stats = build(exports, index_path(data_dir), progress=progress)
            except OsvError as exc:
                result.failed["index"] = str(exc)
        return result
    finally:
        lock.close()


def import_exports(paths, *, data_dir, progress: Callable[[int], None] | None = None) -> BuildStats:
    """Rebuild the index from `paths` (exports, directories, JSON records): for installs without internet access."""
    lock = _Lock(osv_dir(data_dir))
    try:
        if not lock.acquire():
            raise OsvError(
                "Another keepwell process is updating the vulnerability database; try again in a minute."
            )
        return build(paths, index_path(data_dir), progress=progress)
    finally:
        lock.close()
