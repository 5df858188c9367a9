"""Scan a repository (or one lockfile) for known vulnerabilities: shared by `keepwell security scan` and the hub.

No Django here: the CLI runs it without a server or a database, and the hub's job stores what it returns.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from keepwell.dependencies.types import ALIAS, REGISTRY, Dependency, ReadError

from .osv import ECOSYSTEMS, Database, OsvError, Vulnerability, match_package, normalize_name

INDEX_NAME = "osv.sqlite3"


def osv_dir(data_dir: str | Path | None = None) -> Path:
    """Return the folder of the local OSV index and downloaded exports (KEEPWELL_DATA_DIR/osv)."""
    if data_dir is None:
        data_dir = os.environ.get("KEEPWELL_DATA_DIR") or Path.home() / ".local" / "share" / "keepwell"
    return Path(data_dir).expanduser() / "osv"


def index_path(data_dir: str | Path | None = None) -> Path:
    """Return the path of the local OSV index."""
    return osv_dir(data_dir) / INDEX_NAME


NO_INDEX = (
    "There is no local vulnerability database yet. Build it with `keepwell security osv update` (downloads the "
    "PyPI and npm exports from OSV), or `keepwell security osv import FILE_OR_DIR` for an offline copy; or give "
    "an export to this scan with --osv FILE_OR_DIR."
)


def open_index(osv: str | Path | None = None, data_dir: str | Path | None = None, progress=None) -> Database:
    """Return the database to match against: `osv` (an export or an index) when given, else the local index."""
    if osv is not None:
        return Database.load(osv, progress=progress)
    path = index_path(data_dir)
    if not path.exists():
        raise OsvError(NO_INDEX)
    return Database.open(path)


@dataclass
class Location:
    file: str
    line: int | None


@dataclass
class Found:
    """A vulnerability of a dependency, where the repository declares that dependency."""

    vulnerability: Vulnerability
    locations: list[Location]
    direct: bool
    dev: bool
    package_fixed_in: str | None  # the smallest version of the package that clears all its vulnerabilities

    def as_dict(self) -> dict:
        v = self.vulnerability
        first = self.locations[0] if self.locations else Location("", None)
        return {
            "package": v.package,
            "version": v.version,
            "ecosystem": v.ecosystem,
            "id": v.id,
            "aliases": v.aliases,
            "fixed_in": v.fixed_in,
            "package_fixed_in": self.package_fixed_in,
            "severity": v.severity,
            "cvss_score": v.cvss_score,
            "cvss_vector": v.cvss_vector,
            "summary": v.summary,
            "malicious": v.malicious,
            "advisories": v.records,
            "url": v.url,
            "direct": self.direct,
            "dev": self.dev,
            "source": first.file,
            "line": first.line,
            "locations": [{"file": loc.file, "line": loc.line} for loc in self.locations],
        }


@dataclass
class ScanReport:
    root: str
    database: str
    dependencies: list[Dependency] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)
    unpinned: list[Dependency] = field(default_factory=list)  # only a range is declared: never matched
    not_checked: list[Dependency] = field(default_factory=list)  # URL, VCS, path, editable: not on a registry
    errors: list[ReadError] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return len({(d.ecosystem, d.name, d.version) for d in self.dependencies if _matchable(d)})


def _matchable(dep: Dependency) -> bool:
    return dep.version is not None and dep.kind in (REGISTRY, ALIAS) and dep.ecosystem in ECOSYSTEMS


def read_dependencies(path: str | Path) -> tuple[list[Dependency], list[ReadError]]:
    """Return the dependencies declared under `path` (a folder, or one manifest or lockfile) and read errors."""
    from keepwell.dependencies import readers

    path = Path(path)
    if path.is_dir():
        result = readers.scan(path)
        return result.dependencies, list(result.errors)
    if path.is_file():
        try:
            if path.suffix == ".txt" and not path.name.lower().startswith("requirements"):
                # A pinned file given by name (constraints.txt, a pip-compile output) is a requirements file,
                # whatever it is called; only a folder scan goes by the usual names.
                return _read_requirements(path), []
            return readers.read_file(path, root=path.parent), []
        except ReadError as exc:
            return [], [exc]
    raise FileNotFoundError(f"{path} does not exist")


def check(dependencies: list[Dependency], db: Database) -> list[Found]:
    """Return the vulnerabilities of the pinned `dependencies`, one per (package, version, vulnerability)."""
    by_key: dict[tuple[str, str, str], list[Dependency]] = {}
    for dep in dependencies:
        if _matchable(dep):
            key = (dep.ecosystem, normalize_name(dep.ecosystem, dep.name), dep.version)
            by_key.setdefault(key, []).append(dep)
    found = []
    for ecosystem in ECOSYSTEMS:
        keys = [k for k in by_key if k[0] == ecosystem]
        if not keys:
            continue
        records = db.lookup(ecosystem, {k[1] for k in keys})
        for key in sorted(keys):
            if key[1] not in records:
                continue
            vulns, package_fix = match_package(ecosystem, key[1], key[2], records[key[1]])
            deps = by_key[key]
            locations, seen = [], set()
            for d in deps:
                if (d.source, d.line) not in seen:
                    seen.add((d.source, d.line))
                    locations.append(Location(d.source, d.line))
            for vuln in vulns:
                vuln.package = deps[0].name
                found.append(
                    Found(
                        vulnerability=vuln,
                        locations=locations,
                        direct=any(d.direct for d in deps),
                        dev=all(d.dev for d in deps),
                        package_fixed_in=package_fix,
                    )
                )
    return found


def scan(path: str | Path, db: Database) -> ScanReport:
    """Read the dependencies under `path` and match the pinned ones against `db`."""
    dependencies, errors = read_dependencies(path)
    report = ScanReport(root=str(path), database=db.label, dependencies=dependencies, errors=errors)
    pinned = {(d.ecosystem, normalize_name(d.ecosystem, d.name)) for d in dependencies if _matchable(d)}
    seen = set()
    for dep in dependencies:
        if _matchable(dep):
            continue
        key = (dep.ecosystem, dep.name, dep.source)
        if key in seen:
            continue
        seen.add(key)
        if dep.kind == REGISTRY and dep.version is None:
            # A range is not a version: reported as unpinned, unless a lockfile pins the package elsewhere.
            if (dep.ecosystem, normalize_name(dep.ecosystem, dep.name)) not in pinned:
                report.unpinned.append(dep)
        elif dep.kind not in (REGISTRY, ALIAS) and dep.kind != "workspace":
            report.not_checked.append(dep)
    report.found = check(dependencies, db)
    return report


MAX_REQUIREMENTS_BYTES = 50 * 2**20


def _read_requirements(path: Path) -> list[Dependency]:
    """Read `path` as a pip requirements file (with the files it includes, relative to its folder)."""
    from keepwell.dependencies.readers import requirements

    root = path.parent.resolve()

    def load(rel: str) -> str:
        target = (root / rel).resolve()
        if root not in target.parents and target != root:
            raise ReadError(rel, "is outside the scanned folder; keepwell does not follow it")
        try:
            if target.stat().st_size > MAX_REQUIREMENTS_BYTES:
                raise ReadError(rel, "is larger than 50 MiB; it is not a requirements file")
            return target.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ReadError(rel, f"cannot be read ({getattr(exc, 'strerror', None) or exc})") from None

    return requirements.read(path.name, load)
