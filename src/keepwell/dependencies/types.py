"""What the manifest and lockfile readers return: plain data, no Django.

The `dependencies` app (drift, updates) and the `security` app (vulnerabilities, SBOM) both read a service's
repository through `keepwell.dependencies.readers.scan(root)`, which returns a `ScanResult` of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PYPI, NPM = "PyPI", "npm"  # ecosystem names as OSV spells them

# How a dependency is given. Only "registry" dependencies have a registry version to compare; the others are
# reported as what they are and never guessed.
REGISTRY, EDITABLE, URL, VCS, PATH, WORKSPACE, ALIAS = (
    "registry",
    "editable",
    "url",
    "vcs",
    "path",
    "workspace",
    "alias",
)


@dataclass(frozen=True)
class Dependency:
    name: str  # normalized: PEP 503 for PyPI (lowercase, runs of -_. as -), as written for npm
    ecosystem: str  # PYPI or NPM
    version: str | None  # the exact pinned or locked version; None when only a range is declared
    specifier: str = ""  # the declared range as written (">=2,<3", "^1.2.0"); "" when none
    direct: bool = True  # declared by the project itself (False: pulled in by another dependency)
    dev: bool = False  # only for development, tests, docs or build
    optional: bool = False  # an extra / optional dependency
    source: str = ""  # the file it was read from, relative to the scanned root ("api/poetry.lock")
    line: int | None = None  # 1-based line in `source`, where the reader knows it
    kind: str = REGISTRY
    url: str = ""  # for URL, VCS and PATH kinds: where it comes from
    markers: str = ""  # PEP 508 environment markers, as written
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # dependency groups / Poetry groups / npm dependency type it belongs to
    hashes: tuple[str, ...] = ()  # "sha256:..." as given in the lock
    # For ALIAS (npm "name": "npm:real@range"): the name the project uses locally; `name` is the real package.
    alias: str = ""


@dataclass
class Project:
    """One project in the repository: a directory with a manifest (the root or a workspace member)."""

    path: str  # directory relative to the scanned root; "" for the root itself
    ecosystem: str
    name: str = ""
    manifest: str = ""  # e.g. "pyproject.toml", "package.json" (relative to the root)
    lockfile: str = ""  # the lockfile whose versions were used, "" when none
    dependencies: list[Dependency] = field(default_factory=list)
    python_requires: str = ""  # PEP 621 requires-python (or Poetry's python constraint), as written
    node_engines: str = ""  # package.json engines.node, as written


class ReadError(ValueError):
    """A manifest or lockfile that cannot be read; says which file, where and what to do."""

    def __init__(self, file: str, message: str, line: int | None = None):
        self.file, self.line, self.message = file, line, message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {message}")


@dataclass
class ScanResult:
    projects: list[Project] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)  # unreadable files; the rest is still read

    @property
    def dependencies(self) -> list[Dependency]:
        return [d for p in self.projects for d in p.dependencies]
