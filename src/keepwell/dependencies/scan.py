"""Scan a repository: its dependencies against the registries, its runtimes against end-of-life data. No Django.

`scan(root, options)` is the one function both `keepwell deps scan` and the nightly job call; the job stores
its `Report`, the command prints it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from . import eol as eol_data
from . import libyears as ly
from . import runtimes as runtime_finder
from . import versions as v
from .registry import NPM_URL, PYPI_URL, Package, RegistryClient
from .types import NPM, PYPI, REGISTRY, Dependency


@dataclass
class Options:
    pypi_url: str = PYPI_URL
    npm_url: str = NPM_URL
    eol_url: str = "https://endoflife.date"
    cache_dir: Path | str | None = None
    offline: bool = False
    concurrency: int = 16
    retries: int = 3
    ttl: int = 3600
    timeout: float = 20.0
    eol_warn_days: int = 180
    guard: Callable[[str], object] | None = None  # refuses registry URLs the hub may not reach


@dataclass
class DependencyReport:
    name: str
    ecosystem: str
    version: str | None
    specifier: str = ""
    kind: str = REGISTRY
    direct: bool = True
    dev: bool = False
    source: str = ""
    line: int | None = None
    latest: str | None = None  # the newest release (stable unless the version in use is a pre-release)
    latest_allowed: str | None = None  # the newest release the declared range allows
    latest_same_major: str | None = None  # the newest release with the major version in use
    released: datetime | None = None  # when the version in use was released
    latest_released: datetime | None = None
    last_release: datetime | None = None  # the package's most recent release of any version
    libyears: float | None = None
    behind_major: int = 0
    behind_minor: int = 0
    behind_patch: int = 0
    drift: str | None = None  # "major", "minor", "patch" or None (up to date or unknown)
    yanked: bool = False
    yanked_reason: str = ""
    deprecated: str = ""
    no_release_in_two_years: bool = False
    error: str = ""

    @property
    def outdated(self) -> bool:
        return self.drift is not None

    def as_dict(self) -> dict:
        out = asdict(self)
        for key in ("released", "latest_released", "last_release"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


@dataclass
class Report:
    root: str
    scanned_at: datetime
    dependencies: list[DependencyReport] = field(default_factory=list)
    runtimes: list[eol_data.EolStatus] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # files that could not be read, and why
    requests: int = 0
    cache_hits: int = 0

    @property
    def total_libyears(self) -> float:
        return ly.total(d.libyears for d in self.dependencies)

    @property
    def median_libyears(self) -> float:
        return ly.median(d.libyears for d in self.dependencies)

    def counts(self) -> dict[str, int]:
        """Return how many dependencies are major, minor or patch behind, up to date, or unknown."""
        out = {"major": 0, "minor": 0, "patch": 0, "up_to_date": 0, "unknown": 0}
        for d in self.dependencies:
            if d.drift:
                out[d.drift] += 1
            elif d.error or d.version is None or d.kind != REGISTRY:
                out["unknown"] += 1
            else:
                out["up_to_date"] += 1
        return out

    def as_dict(self) -> dict:
        return {
            "root": self.root,
            "scanned_at": self.scanned_at.isoformat(),
            "summary": {
                "dependencies": len(self.dependencies),
                "total_libyears": self.total_libyears,
                "median_libyears": self.median_libyears,
                **self.counts(),
                "yanked": sum(d.yanked for d in self.dependencies),
                "deprecated": sum(bool(d.deprecated) for d in self.dependencies),
                "eol_past": sum(r.status == eol_data.PAST for r in self.runtimes),
                "eol_approaching": sum(r.status == eol_data.APPROACHING for r in self.runtimes),
            },
            "dependencies": [d.as_dict() for d in self.dependencies],
            "runtimes": [
                {
                    "product": r.product,
                    "version": r.version,
                    "cycle": r.cycle,
                    "eol": r.eol.isoformat() if r.eol else None,
                    "status": r.status,
                    "days_left": r.days_left,
                    "source": r.source,
                    "line": r.line,
                    "declared": r.declared,
                }
                for r in self.runtimes
            ],
            "errors": self.errors,
        }


def merge(dependencies: list[Dependency]) -> list[Dependency]:
    """Return one entry per (ecosystem, name, version, kind), preferring the direct declaration."""
    seen: dict[tuple, Dependency] = {}
    for dep in dependencies:
        key = (dep.ecosystem, dep.name, dep.version, dep.kind)
        first = seen.get(key)
        if first is None:
            seen[key] = dep
        elif dep.direct and not first.direct:
            seen[key] = dep
    return sorted(seen.values(), key=lambda d: (d.ecosystem, d.name.lower(), d.version or ""))


def declared_ranges(root: Path, result) -> list[Dependency]:
    """Return the dependencies with each direct one's range as its manifest declares it now.

    A lockfile records the range it was resolved for; when the manifest has moved on since (a person edited
    package.json or pyproject.toml without re-locking), the manifest's range is the one that counts, as it
    is for `npm outdated`.
    """
    from dataclasses import replace

    from . import readers

    out = []
    for project in result.projects:
        ranges: dict[tuple[str, str], str] = {}
        if project.manifest and project.lockfile and project.manifest != project.lockfile:
            try:
                for d in readers.read_file(root / project.manifest, root=root):
                    if d.direct and d.specifier:
                        ranges.setdefault((d.ecosystem, d.name), d.specifier)
            except (ValueError, OSError):
                pass  # the scan already reports a manifest it cannot read
        for d in project.dependencies:
            spec = ranges.get((d.ecosystem, d.name)) if d.direct else None
            out.append(replace(d, specifier=spec) if spec and spec != d.specifier else d)
    return out


def _stable_versions(package: Package) -> list[str]:
    """Return the versions that count as candidates: never yanked ones."""
    return [ver for ver, rel in package.releases.items() if not rel.yanked]


def _latest(package: Package, current: str | None) -> str | None:
    eco = package.ecosystem
    if eco == NPM and package.latest_tag and v.parse(eco, package.latest_tag) is not None:
        # npm's "latest" is what the dist-tag says (npm outdated reports it), not the highest number.
        tag = package.latest_tag
        newest_pre = current and v.is_prerelease(eco, current)
        if not newest_pre:
            return tag
        newest = v.latest(eco, package.releases, current)
        return newest if v.is_newer(eco, newest, tag) else tag
    return v.latest(eco, _stable_versions(package), current)


def _latest_allowed(package: Package, specifier: str, current: str | None, latest: str | None) -> str | None:
    eco = package.ecosystem
    if not specifier.strip():
        return latest
    if not v.valid_range(eco, specifier):
        return None
    if eco == NPM:
        # As npm picks: the "latest" tag when the range allows it, else the newest allowed, not deprecated.
        if latest and v.allows(eco, specifier, latest):
            return latest
        fresh = [ver for ver, rel in package.releases.items() if not rel.deprecated]
        return v.latest_allowed(eco, fresh, specifier, current) or v.latest_allowed(
            eco, package.releases, specifier, current
        )
    return v.latest_allowed(eco, _stable_versions(package), specifier, current)


def _latest_same_major(package: Package, current: str) -> str | None:
    eco = package.ecosystem
    parts = v.parse(eco, current)
    if parts is None:
        return None
    major = parts.release[0] if eco == PYPI else parts.major
    same = []
    for ver in _stable_versions(package):
        parsed = v.parse(eco, ver)
        if parsed is not None and (parsed.release[0] if eco == PYPI else parsed.major) == major:
            same.append(ver)
    newest = v.latest(eco, same, current)
    return newest if v.is_newer(eco, newest, current) else None


def assess(dep: Dependency, package: Package | None, now: datetime) -> DependencyReport:
    """Return what the registry's `package` says about the dependency `dep` at `now`."""
    report = DependencyReport(
        name=dep.name,
        ecosystem=dep.ecosystem,
        version=dep.version,
        specifier=dep.specifier,
        kind=dep.kind,
        direct=dep.direct,
        dev=dep.dev,
        source=dep.source,
        line=dep.line,
    )
    if dep.kind != REGISTRY:
        return report
    if package is None or package.error:
        report.error = package.error if package else "not looked up"
        return report
    eco, current = dep.ecosystem, dep.version
    report.latest = _latest(package, current)
    report.latest_allowed = _latest_allowed(package, dep.specifier, current, report.latest)
    times = [r.released for r in package.releases.values() if r.released]
    report.last_release = max(times) if times else None
    report.no_release_in_two_years = ly.is_stale(report.last_release, now)
    latest_release = package.release(report.latest)
    report.latest_released = latest_release.released if latest_release else None
    in_use = package.release(current)
    if current is None:
        return report
    if in_use is None:
        report.error = f"version {current} is not on the registry"
        return report
    report.released = in_use.released
    report.latest_same_major = _latest_same_major(package, current)
    report.yanked, report.yanked_reason = in_use.yanked, in_use.yanked_reason
    report.deprecated = in_use.deprecated
    if v.is_newer(eco, report.latest, current):
        behind = v.behind(eco, current, report.latest)
        report.behind_major, report.behind_minor, report.behind_patch = (
            behind.major,
            behind.minor,
            behind.patch,
        )
        report.drift = behind.kind
        report.libyears = ly.libyears(report.released, report.latest_released)
    else:
        report.libyears = 0.0 if report.released else None
    return report


def scan(
    root: str | Path,
    options: Options | None = None,
    *,
    progress: Callable[[int], Callable[[], None] | None] | None = None,
    now: datetime | None = None,
) -> Report:
    """Scan the repository at `root`; `progress(total)` may return a callback called once per package."""
    from . import readers

    options = options or Options()
    now = now or datetime.now(UTC)
    root = Path(root)
    result = readers.scan(root)
    deps = merge(declared_ranges(root, result))
    report = Report(root=str(root), scanned_at=now, errors=[str(e) for e in result.errors])
    client = RegistryClient(
        pypi_url=options.pypi_url,
        npm_url=options.npm_url,
        cache_dir=options.cache_dir,
        offline=options.offline,
        concurrency=options.concurrency,
        retries=options.retries,
        ttl=options.ttl,
        timeout=options.timeout,
        guard=options.guard,
    )
    wanted = [(d.ecosystem, d.name) for d in deps if d.kind == REGISTRY and d.ecosystem in (PYPI, NPM)]
    wanted = list(dict.fromkeys(wanted))
    tick = progress(len(wanted)) if progress else None
    packages = client.fetch(wanted, tick)
    report.dependencies = [assess(d, packages.get((d.ecosystem, d.name)), now) for d in deps]
    report.requests, report.cache_hits = client.requests, client.cache_hits
    report.runtimes = runtimes(root, deps, options, now.date())
    return report


def runtimes(root: Path, deps: list[Dependency], options: Options, today: date) -> list[eol_data.EolStatus]:
    """Return the end-of-life status of each runtime, database and framework the repository declares."""
    data = eol_data.load(
        base_url=options.eol_url,
        cache_dir=options.cache_dir,
        offline=options.offline,
        guard=options.guard,
    )
    found = runtime_finder.find(root, eol_data.cycles_of(data))
    # Frameworks come from the dependencies themselves: Django's version is the one locked or pinned.
    for dep in deps:
        if dep.ecosystem == PYPI and dep.name == "django" and dep.version and dep.kind == REGISTRY:
            found.append(
                runtime_finder.Runtime("django", dep.version, dep.source, dep.line, f"django {dep.version}")
            )
    unique = list(dict.fromkeys(found))
    return [eol_data.evaluate(r, data, today, options.eol_warn_days) for r in unique]
