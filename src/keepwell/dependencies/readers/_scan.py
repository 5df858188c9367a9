"""Walk a repository, find manifests and lockfiles, group them into projects and merge what they say."""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import replace
from pathlib import Path

from keepwell.dependencies.readers import (
    npm_lock,
    package_json,
    pipfile,
    pipfile_lock,
    pnpm_lock,
    poetry_lock,
    pylock,
    pyproject,
    requirements,
    uv_lock,
    yarn_lock,
)
from keepwell.dependencies.readers._common import Lock, Manifest, decode
from keepwell.dependencies.types import (
    NPM,
    PYPI,
    REGISTRY,
    WORKSPACE,
    Dependency,
    Project,
    ReadError,
    ScanResult,
)

SKIP_DIRS = frozenset(
    {"node_modules", ".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "site-packages", "dist", "build",
     ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".yarn"}
)  # fmt: skip
_REQUIREMENTS = re.compile(r"^requirements.*\.txt$", re.IGNORECASE)
_PYLOCK = re.compile(r"^pylock(\.[^.]+)?\.toml$")

# Lockfiles by the order in which they win when a directory holds several for one ecosystem.
PYTHON_LOCKS = {
    "uv.lock": uv_lock,
    "poetry.lock": poetry_lock,
    "pylock.toml": pylock,
    "Pipfile.lock": pipfile_lock,
}
NPM_LOCKS = {
    "package-lock.json": npm_lock,
    "npm-shrinkwrap.json": npm_lock,
    "pnpm-lock.yaml": pnpm_lock,
    "yarn.lock": yarn_lock,
}
WORKSPACE_LOCKS = ("uv.lock", "package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "yarn.lock")


def kind_of(rel: str) -> tuple[str, str] | None:
    """Return (ecosystem, "manifest" or "lock") for a file name keepwell reads, else None."""
    parts = rel.split("/")
    name = parts[-1]
    if name in PYTHON_LOCKS or _PYLOCK.match(name):
        return PYPI, "lock"
    if name in NPM_LOCKS:
        return NPM, "lock"
    if name in ("pyproject.toml", "Pipfile") or _REQUIREMENTS.match(name):
        return PYPI, "manifest"
    if len(parts) > 1 and parts[-2] == "requirements" and name.endswith(".txt"):
        return PYPI, "manifest"
    if name == "package.json":
        return NPM, "manifest"
    return None


def _project_dir(rel: str) -> str:
    """Return the project directory a file belongs to (requirements/ folders belong to their parent)."""
    parts = rel.split("/")[:-1]
    if parts and parts[-1] == "requirements" and not _REQUIREMENTS.match(rel.rsplit("/", 1)[-1]):
        parts = parts[:-1]
    return "/".join(parts)


class _Files:
    """Read files under the root with the size limit, refusing paths that leave it."""

    def __init__(self, root: Path, max_file_size: int):
        self.root = root
        self.real_root = os.path.realpath(root)
        self.max_file_size = max_file_size

    def load(self, rel: str) -> str:
        path = os.path.join(self.root, rel)
        real = os.path.realpath(path)
        if real != self.real_root and not real.startswith(self.real_root + os.sep):
            raise ReadError(rel, "points outside the scanned repository; it was not read")
        try:
            size = os.stat(real).st_size
            if size > self.max_file_size:
                raise ReadError(
                    rel, f"is too large to read ({size:,} bytes, the limit is {self.max_file_size:,}); "
                    "raise max_file_size if this file is real"
                )  # fmt: skip
            with open(real, "rb") as handle:
                data = handle.read(min(size, self.max_file_size) + 1)
        except FileNotFoundError:
            raise ReadError(rel, "does not exist")
        except IsADirectoryError:
            raise ReadError(rel, "is a directory, not a file")
        except OSError as exc:
            raise ReadError(rel, f"cannot be opened: {exc.strerror}")
        if len(data) > self.max_file_size:
            raise ReadError(rel, f"is too large to read (over {self.max_file_size:,} bytes)")
        return decode(data, rel)


def _find(root: Path) -> list[str]:
    """Return the relative paths of every manifest and lockfile under root, skipping vendored trees."""
    found = []
    real_root = os.path.realpath(root)
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not os.path.islink(os.path.join(directory, d))
        )
        rel_dir = os.path.relpath(directory, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir
        for filename in sorted(filenames):
            rel = f"{rel_dir}/{filename}" if rel_dir else filename
            if kind_of(rel) is None:
                continue
            full = os.path.join(directory, filename)
            if os.path.islink(full):
                target = os.path.realpath(full)
                if not target.startswith(real_root + os.sep) or not os.path.isfile(target):
                    continue  # a symlink that leaves the repository (or dangles) is not part of it
            found.append(rel)
    return found


def _read_manifest(rel: str, files: _Files) -> Manifest:
    name = rel.rsplit("/", 1)[-1]
    if name == "package.json":
        return package_json.read(files.load(rel), rel)
    if name == "pyproject.toml":
        return pyproject.read(files.load(rel), rel)
    if name == "Pipfile":
        return pipfile.read(files.load(rel), rel)
    return Manifest(dependencies=requirements.read(rel, files.load))


def _lock_module(rel: str):
    name = rel.rsplit("/", 1)[-1]
    return PYTHON_LOCKS.get(name) or NPM_LOCKS.get(name) or (pylock if _PYLOCK.match(name) else None)


def _guarded(fn, rel: str):
    """Run a reader, turning an unexpected failure on hostile input into a ReadError for that file."""
    try:
        return fn()
    except ReadError:
        raise
    except RecursionError:
        raise ReadError(rel, "is nested too deeply to read")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ReadError(
            rel, f"has an unexpected structure and could not be read ({type(exc).__name__}: {exc})"
        )


def _merge_declared(deps: list[Dependency]) -> list[Dependency]:
    """Merge what several manifests declare, one entry per package: pinned beats ranged, runtime beats dev."""
    merged: dict[tuple[str, str], Dependency] = {}
    for dep in deps:
        key = (dep.name, dep.alias)
        current = merged.get(key)
        if current is None:
            merged[key] = dep
            continue
        better = current
        if (current.dev and not dep.dev) or (current.version is None and dep.version is not None):
            better = dep
        merged[key] = replace(better, dev=current.dev and dep.dev, version=better.version or current.version
                              or dep.version, groups=tuple(dict.fromkeys(current.groups + dep.groups)))  # fmt: skip
    return list(merged.values())


def merge(declared: list[Dependency], locked: list[Dependency], knows_direct: bool) -> list[Dependency]:
    """Combine a manifest's declarations with a lockfile's versions; the lock's exact versions win."""
    by_name = {(d.alias or d.name): d for d in declared}
    out = []
    locked_names = set()
    for dep in locked:
        locked_names.add(dep.alias or dep.name)
        match = by_name.get(dep.alias or dep.name)
        if knows_direct:
            if dep.direct and match is not None:
                dep = replace(
                    dep, specifier=dep.specifier or match.specifier, markers=dep.markers or match.markers,
                    extras=dep.extras or match.extras, groups=dep.groups or match.groups,
                    optional=dep.optional or match.optional,
                )  # fmt: skip
        elif match is not None:
            dep = replace(dep, direct=True, dev=match.dev, optional=match.optional, specifier=match.specifier,
                          groups=match.groups, extras=match.extras, markers=match.markers or dep.markers)  # fmt: skip
        else:
            dep = replace(dep, direct=False)
        out.append(dep)
    # Declared but absent from the lock: a path, VCS or workspace dependency, or a lock out of date.
    out.extend(d for d in declared if (d.alias or d.name) not in locked_names)
    return out


def _relative(path: str, base: str) -> str | None:
    """Return path relative to base ("" when equal), or None when path is not under base."""
    if base == "":
        return path
    if path == base:
        return ""
    if path.startswith(base + "/"):
        return path[len(base) + 1 :]
    return None


def _sort(deps: list[Dependency]) -> list[Dependency]:
    return sorted(deps, key=lambda d: (not d.direct, d.dev, d.name, d.version or "", d.source))


def scan(root: str | Path, *, max_file_size: int) -> ScanResult:
    """Find every manifest and lockfile under root, group them into projects and read their dependencies."""
    root = Path(root)
    if not root.is_dir():
        raise ReadError(str(root), "is not a directory; pass the repository's top folder")
    files = _Files(root, max_file_size)
    result = ScanResult()
    # (directory, ecosystem) -> {"manifests": [rel...], "locks": [rel...]}
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    for rel in _find(root):
        ecosystem, role = kind_of(rel)
        groups.setdefault((_project_dir(rel), ecosystem), {"manifests": [], "locks": []})[role + "s"].append(
            rel
        )

    manifests: dict[tuple[str, str], dict[str, Manifest]] = {}
    for (directory, ecosystem), found in groups.items():
        # requirements files included by another one are read through that one
        parsed: dict[str, Manifest] = {}
        for rel in found["manifests"]:
            try:
                parsed[rel] = _guarded(lambda rel=rel: _read_manifest(rel, files), rel)
            except ReadError as exc:
                result.errors.append(exc)
        manifests[(directory, ecosystem)] = parsed

    def combined(key) -> Manifest | None:
        parsed = manifests.get(key) or {}
        if not parsed:
            return None
        out = Manifest()
        deps = []
        for rel in sorted(parsed, key=_manifest_rank):
            m = parsed[rel]
            out.name = out.name or m.name
            out.python_requires = out.python_requires or m.python_requires
            out.node_engines = out.node_engines or m.node_engines
            out.workspaces = out.workspaces or m.workspaces
            deps.extend(m.dependencies)
        out.dependencies = _merge_declared(deps)
        return out

    def primary(key) -> Manifest | None:
        """Return the project's own manifest (not requirements files, which often pin transitive ones)."""
        parsed = manifests.get(key) or {}
        for rel in sorted(parsed, key=_manifest_rank):
            if rel.rsplit("/", 1)[-1] in ("pyproject.toml", "package.json", "Pipfile"):
                return parsed[rel]
        return combined(key)

    # Read each lockfile once, with the manifests of the projects it may cover.
    locks: dict[str, Lock] = {}
    lock_of: dict[tuple[str, str], tuple[str, str]] = {}  # project key -> (lock rel, importer path)
    for (directory, ecosystem), found in sorted(groups.items()):
        ordered = sorted(found["locks"], key=_lock_rank)
        for rel in ordered[:1]:
            lock_dir = directory
            covered = {}
            for other_dir, other_eco in groups:
                sub = _relative(other_dir, lock_dir)
                if (
                    other_eco == ecosystem
                    and sub is not None
                    and combined((other_dir, other_eco)) is not None
                ):
                    if sub == "" or rel.endswith(WORKSPACE_LOCKS):
                        covered[sub] = primary((other_dir, other_eco))
            if rel.endswith("yarn.lock") and "" in covered:
                patterns = covered[""].workspaces
                covered = {p: m for p, m in covered.items() if p == "" or _matches(p, patterns)}
            module = _lock_module(rel)
            try:
                lock = _guarded(lambda m=module, r=rel, c=covered: m.read(files.load(r), r, c), rel)
            except ReadError as exc:
                result.errors.append(exc)
                continue
            locks[rel] = lock
            for sub in lock.importers:
                project_dir = f"{lock_dir}/{sub}".strip("/") if lock_dir else sub
                lock_of.setdefault((project_dir, ecosystem), (rel, sub))
            lock_of[(directory, ecosystem)] = (rel, "")

    keys = set(groups) | set(lock_of)
    for key in sorted(keys):
        directory, ecosystem = key
        manifest = combined(key)
        parsed = manifests.get(key) or {}
        project = Project(path=directory, ecosystem=ecosystem)
        if parsed:
            project.manifest = sorted(parsed, key=_manifest_rank)[0]
        declared = manifest.dependencies if manifest else []
        if manifest:
            project.name = manifest.name
            project.python_requires = manifest.python_requires
            project.node_engines = manifest.node_engines
        if key in lock_of:
            rel, sub = lock_of[key]
            lock = locks[rel]
            project.lockfile = rel
            project.dependencies = _sort(merge(declared, lock.importers.get(sub, []), lock.knows_direct))
        else:
            project.dependencies = _sort(declared)
        if parsed or project.lockfile:
            result.projects.append(project)
    _mark_local_packages(result)
    return result


def _mark_local_packages(result: ScanResult) -> None:
    """Mark npm dependencies on another project of the same repository (yarn v1 workspaces) as workspace."""
    local = {p.name for p in result.projects if p.ecosystem == NPM and p.name}
    for project in result.projects:
        if project.ecosystem != NPM:
            continue
        project.dependencies = [
            replace(d, kind=WORKSPACE) if d.kind == REGISTRY and d.version is None and d.name in local else d
            for d in project.dependencies
        ]


def _matches(path: str, patterns: list[str]) -> bool:
    """Tell whether a workspace member path matches one of the workspaces globs."""
    for pattern in patterns:
        pattern = pattern.strip().strip("/").removeprefix("./")
        if fnmatch.fnmatch(path, pattern) or (pattern.endswith("/**") and path.startswith(pattern[:-3])):
            return True
    return False


def _manifest_rank(rel: str) -> tuple[int, str]:
    name = rel.rsplit("/", 1)[-1]
    order = {"pyproject.toml": 0, "package.json": 0, "Pipfile": 1, "requirements.txt": 2}
    return order.get(name, 3), rel


def _lock_rank(rel: str) -> int:
    name = rel.rsplit("/", 1)[-1]
    order = list(PYTHON_LOCKS) + list(NPM_LOCKS)
    return order.index(name) if name in order else len(order)


def read_file(path: str | Path, *, root: str | Path | None = None) -> list[Dependency]:
    """Read one manifest or lockfile, chosen by its file name; a lock is read with the manifest beside it."""
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    kind = kind_of(rel)
    if kind is None:
        raise ReadError(rel, "is not a manifest or lockfile keepwell knows (see the list in the manual)")
    ecosystem, role = kind
    files = _Files(root, 2**62)
    if role == "manifest":
        return _guarded(lambda: _read_manifest(rel, files), rel).dependencies
    directory = _project_dir(rel)
    sibling_names = ("package.json",) if ecosystem == NPM else ("pyproject.toml", "Pipfile")
    manifest = None
    for name in sibling_names:
        sibling = f"{directory}/{name}" if directory else name
        if (root / sibling).is_file():
            manifest = _guarded(lambda sibling=sibling: _read_manifest(sibling, files), sibling)
            break
    if rel.endswith("Pipfile.lock") and manifest is not None and not manifest.dependencies:
        manifest = None
    module = _lock_module(rel)
    lock = _guarded(lambda: module.read(files.load(rel), rel, {"": manifest} if manifest else {}), rel)
    if not lock.knows_direct and manifest is not None:
        return _sort(merge(manifest.dependencies, lock.importers.get("", []), False))
    return _sort(lock.dependencies)
