"""Find the runtimes and databases a repository declares: Python, Node and the images it runs. No Django.

Python: requires-python (pyproject.toml), .python-version, runtime.txt, Dockerfile FROM lines. Node: engines
(package.json), .nvmrc, Dockerfile FROM lines. Databases: images in Dockerfiles and docker-compose files.
A range ("requires-python = '>=3.9'") counts as its lowest version: that is the oldest the service supports.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

SKIP_DIRS = {"node_modules", ".git", ".hg", ".venv", "venv", "__pycache__", ".tox", "dist", "build", ".cache"}
MAX_DEPTH = 4
MAX_FILE_BYTES = 1_000_000

# Image names (the last path part, before the tag) and the endoflife.date product they run.
IMAGES = {
    "python": "python",
    "node": "nodejs",
    "postgres": "postgresql",
    "postgresql": "postgresql",
    "redis": "redis",
    "mariadb": "mariadb",
    "mongo": "mongodb",
    "mongodb": "mongodb",
}
FROM_LINE = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", re.IGNORECASE)
IMAGE_LINE = re.compile(r"""^\s*image:\s*["']?([^"'\s#]+)""")
LEADING_VERSION = re.compile(r"^v?(\d+(?:\.\d+){0,2})")


@dataclass(frozen=True)
class Runtime:
    product: str  # the endoflife.date product: python, nodejs, django, postgresql, ...
    version: str  # as declared, reduced to numbers: "3.11", "18.17.0", "16"
    source: str  # file relative to the scanned root
    line: int | None = None
    declared: str = ""  # the text it was read from, e.g. ">=3.9" or "python:3.11-slim"


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(errors="replace")
    except OSError:
        return None


def _files(root: Path):
    root_depth = len(root.parts)
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        depth = len(here.parts) - root_depth
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and depth < MAX_DEPTH)
        for name in sorted(filenames):
            yield here / name


def _is_dockerfile(name: str) -> bool:
    lower = name.lower()
    return (
        lower in ("dockerfile", "containerfile")
        or lower.startswith("dockerfile.")
        or lower.endswith(".dockerfile")
    )


def _is_compose(name: str) -> bool:
    lower = name.lower()
    return (lower.startswith("docker-compose") or lower.startswith("compose")) and lower.endswith(
        (".yml", ".yaml")
    )


def image_runtime(image: str) -> tuple[str, str] | None:
    """Return (product, version) for an image reference like "python:3.11-slim", or None."""
    if "$" in image or "@" in image.split(":")[0]:
        return None
    ref = image.split("@", 1)[0]
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
    product = IMAGES.get(name.rsplit("/", 1)[-1].lower())
    match = LEADING_VERSION.match(tag)
    if product is None or match is None:
        return None
    return product, match.group(1)


def lowest_in_range(specifier: str, cycles: list[str], allows) -> str | None:
    """Return the oldest of `cycles` that `allows(specifier, cycle)` accepts (cycles are "3.9", "18")."""

    def key(cycle):
        return tuple(int(p) for p in cycle.split(".") if p.isdigit())

    for cycle in sorted(cycles, key=key):
        if allows(specifier, cycle):
            return cycle
    return None


def _python_allows(specifier: str, cycle: str) -> bool:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        spec = SpecifierSet(specifier)
    except InvalidSpecifier:
        return False
    return any(spec.contains(f"{cycle}.{patch}", prereleases=False) for patch in (0, 99))


def _node_allows(specifier: str, cycle: str) -> bool:
    import nodesemver

    try:
        return any(
            nodesemver.satisfies(f"{cycle}.{minor}.{patch}", specifier, loose=True)
            for minor, patch in ((0, 0), (99, 99))
        )
    except (ValueError, TypeError, AttributeError):
        return False


def find(root: str | Path, cycles: dict[str, list[str]] | None = None) -> list[Runtime]:
    """Return the runtimes declared under `root`; `cycles` (product → known cycles) resolves ranges."""
    root = Path(root)
    cycles = cycles or {}
    found: list[Runtime] = []
    for path in _files(root):
        name = path.name
        rel = path.relative_to(root).as_posix()
        if name == ".python-version":
            text = _read(path) or ""
            for n, line in enumerate(text.splitlines(), 1):
                match = LEADING_VERSION.match(line.strip())
                if match:
                    found.append(Runtime("python", match.group(1), rel, n, line.strip()))
                    break
        elif name == "runtime.txt":
            text = (_read(path) or "").strip()
            match = re.match(r"^python-(\d+(?:\.\d+){0,2})", text)
            if match:
                found.append(Runtime("python", match.group(1), rel, 1, text[:100]))
        elif name == ".nvmrc":
            text = (_read(path) or "").strip()
            match = LEADING_VERSION.match(text)
            if match:
                found.append(Runtime("nodejs", match.group(1), rel, 1, text[:100]))
        elif name == "pyproject.toml":
            found += _pyproject(path, rel, cycles.get("python", []))
        elif name == "package.json":
            found += _package_json(path, rel, cycles.get("nodejs", []))
        elif _is_dockerfile(name):
            for n, line in enumerate((_read(path) or "").splitlines(), 1):
                match = FROM_LINE.match(line)
                hit = image_runtime(match.group(1)) if match else None
                if hit:
                    found.append(Runtime(hit[0], hit[1], rel, n, match.group(1)[:200]))
        elif _is_compose(name):
            for n, line in enumerate((_read(path) or "").splitlines(), 1):
                match = IMAGE_LINE.match(line)
                hit = image_runtime(match.group(1)) if match else None
                if hit:
                    found.append(Runtime(hit[0], hit[1], rel, n, match.group(1)[:200]))
    return found


def _line_of(text: str, needle: str) -> int | None:
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n
    return None


def _pyproject(path: Path, rel: str, cycles: list[str]) -> list[Runtime]:
    text = _read(path)
    if not text:
        return []
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []  # the readers report unreadable manifests
    project = data.get("project") if isinstance(data.get("project"), dict) else {}
    spec = project.get("requires-python")
    if not isinstance(spec, str):
        poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
        deps = poetry.get("dependencies") if isinstance(poetry, dict) else None
        spec = deps.get("python") if isinstance(deps, dict) else None
        if isinstance(spec, str):
            spec = _poetry_to_pep440(spec)
    if not isinstance(spec, str) or not spec.strip():
        return []
    version = lowest_in_range(spec, cycles, _python_allows) if cycles else None
    if version is None:
        match = re.search(r"(\d+\.\d+)", spec)
        version = match.group(1) if match else None
    if version is None:
        return []
    return [Runtime("python", version, rel, _line_of(text, "python"), spec[:100])]


def _poetry_to_pep440(spec: str) -> str:
    spec = spec.strip()
    if spec.startswith("^"):
        return ">=" + spec[1:]
    if spec.startswith("~") and not spec.startswith("~="):
        return ">=" + spec[1:]
    return spec


def _package_json(path: Path, rel: str, cycles: list[str]) -> list[Runtime]:
    text = _read(path)
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        return []
    engines = data.get("engines") if isinstance(data, dict) else None
    spec = engines.get("node") if isinstance(engines, dict) else None
    if not isinstance(spec, str) or not spec.strip():
        return []
    version = lowest_in_range(spec, cycles, _node_allows) if cycles else None
    if version is None:
        match = re.search(r"(\d+)", spec)
        version = match.group(1) if match else None
    if version is None:
        return []
    return [Runtime("nodejs", version, rel, _line_of(text, '"node"'), spec[:100])]
