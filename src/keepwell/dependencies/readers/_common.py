"""Shared parsing helpers for the readers: safe loading of JSON, TOML and YAML with file and line in errors."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field

import yaml

from keepwell.dependencies.types import NPM, PYPI, REGISTRY, Dependency, ReadError

_PEP503 = re.compile(r"[-_.]+")
# JSON nested deeper than this is refused before parsing: no real manifest comes close, and the C parser
# otherwise spends the interpreter's recursion limit.
MAX_JSON_DEPTH = 512


def normalize(ecosystem: str, name: str) -> str:
    """Return the canonical name of a package: PEP 503 for PyPI, npm names unchanged."""
    if ecosystem == PYPI:
        return _PEP503.sub("-", name.strip()).lower()
    return name.strip()


def decode(data: bytes, file: str) -> str:
    """Decode a file's bytes as UTF-8 (with or without a byte order mark)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReadError(file, "is not UTF-8 text; save it as UTF-8 and scan again", line)


def _json_depth_ok(text: str) -> bool:
    depth = deepest = 0
    # Counting brackets outside strings is enough to bound depth; strings are skipped with a regex.
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return False
        elif token in "]}":
            depth -= 1
    return True


def load_json(text: str, file: str):
    """Parse JSON, raising ReadError with the line of the first problem."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError(file, f"is not valid JSON: {exc.msg} (column {exc.colno})", exc.lineno)
    except RecursionError:
        if not _json_depth_ok(text):
            raise ReadError(file, f"is nested more than {MAX_JSON_DEPTH} levels deep; this is not a manifest")
        raise ReadError(file, "is nested too deeply to read")


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_toml(text: str, file: str) -> dict:
    """Parse TOML, raising ReadError with the line of the first problem."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POS.search(message)
        line = int(match.group(1)) if match else None
        if line is None and "end of document" in message:
            line = text.rstrip("\n").count("\n") + 1
        message = _TOML_POS.sub("", message).strip().rstrip(".")
        raise ReadError(file, f"is not valid TOML: {message}", line)
    except RecursionError:
        raise ReadError(file, "is nested too deeply to read")


class _NoAliasLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses anchors and aliases (no lockfile needs them; alias bombs do)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ReadError(
                "",
                "uses YAML aliases, which lockfiles never do; refusing to expand them",
                event.start_mark.line + 1,
            )
        return super().compose_node(parent, index)


# An anchor (&name) can only appear after whitespace, a flow indicator or a dash: if no such token exists
# outside of quotes there can be no alias to expand, and the fast C loader is safe to use.
_MAYBE_ANCHOR = re.compile(r"(?:^|[\s,\[{:-])&[^\s,\[\]{}]", re.MULTILINE)


def load_yaml(text: str, file: str):
    """Parse YAML safely (no tags, no aliases), raising ReadError with the line of the first problem."""
    from keepwell.dependencies.readers import _yaml

    fast = _yaml.load(text)
    if fast is not None:
        return fast
    loader = _NoAliasLoader
    if not _MAYBE_ANCHOR.search(text) and getattr(yaml, "CSafeLoader", None):
        loader = yaml.CSafeLoader
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except ReadError as exc:
        raise ReadError(file, exc.message, exc.line)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid syntax"
        raise ReadError(file, f"is not valid YAML: {problem}", mark.line + 1 if mark else None)
    except yaml.YAMLError as exc:
        raise ReadError(file, f"is not valid YAML: {exc}")
    except RecursionError:
        raise ReadError(file, "is nested too deeply to read")


def expect(value, kind: type | tuple[type, ...], file: str, what: str, line: int | None = None):
    """Return value when it has the expected type, else raise a ReadError saying what was expected."""
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        names = names.replace("dict", "a table").replace("list", "a list").replace("str", "a string")
        raise ReadError(file, f"{what} should be {names}", line)
    return value


class LineFinder:
    """Find the 1-based line where a key first appears in a text file, for pointing at dependencies."""

    def __init__(self, text: str):
        self.text = text
        self._starts: list[int] | None = None

    def line_of(self, offset: int) -> int:
        if self._starts is None:
            self._starts = [m.end() for m in re.finditer("\n", self.text)]
        import bisect

        return bisect.bisect_right(self._starts, offset) + 1

    def find(self, needle: str, start: int = 0) -> int | None:
        offset = self.text.find(needle, start)
        return self.line_of(offset) if offset >= 0 else None


@dataclass
class Package:
    """One resolved package in a lockfile's dependency graph."""

    name: str
    version: str | None
    kind: str = REGISTRY
    url: str = ""
    hashes: tuple[str, ...] = ()
    line: int | None = None
    alias: str = ""
    markers: str = ""
    edges: list[str] = field(default_factory=list)  # keys of the packages this one depends on
    dev: bool | None = None  # what the lockfile itself says, when it says it
    optional: bool | None = None


@dataclass
class Root:
    """A dependency the project declares, pointing at a package key in the graph."""

    key: str
    specifier: str = ""
    dev: bool = False
    optional: bool = False
    groups: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    markers: str = ""


def walk(
    ecosystem: str,
    source: str,
    packages: dict[str, Package],
    roots: list[Root],
    include_unreached: bool = True,
) -> list[Dependency]:
    """Return the project's direct dependencies and everything they pull in, with dev and optional flags."""
    # Three reachability passes: required runtime, optional runtime, dev. A package is dev only when no
    # runtime path reaches it, optional only when no required runtime path does.
    reach: dict[str, int] = {}  # 0 required runtime, 1 optional runtime, 2 dev
    for level, selected in (
        (0, [r for r in roots if not r.dev and not r.optional]),
        (1, [r for r in roots if not r.dev and r.optional]),
        (2, [r for r in roots if r.dev]),
    ):
        stack = [r.key for r in selected if r.key in packages]
        while stack:
            key = stack.pop()
            if key in reach:
                continue
            reach[key] = level
            stack.extend(e for e in packages[key].edges if e in packages and e not in reach)

    out: list[Dependency] = []
    seen: set[tuple[str, str | None, bool]] = set()
    direct_keys: dict[str, Root] = {}
    for root in roots:
        current = direct_keys.get(root.key)
        if current is None or (current.dev and not root.dev):
            direct_keys[root.key] = root
    for key, root in direct_keys.items():
        package = packages.get(key)
        if package is None:
            continue
        out.append(_dependency(ecosystem, source, package, True, root.dev, root.optional, root))
        seen.add((package.name, package.version, True))
    for key, level in reach.items():
        if key in direct_keys:
            continue
        package = packages[key]
        ident = (package.name, package.version, False)
        if ident in seen or (package.name, package.version, True) in seen:
            continue
        seen.add(ident)
        out.append(_dependency(ecosystem, source, package, False, level == 2, level == 1, None))
    if include_unreached:
        # Locked but reached from no declared dependency (a stale manifest, an extra): still installed.
        for key, package in packages.items():
            ident = (package.name, package.version)
            if key in reach or key in direct_keys or (*ident, False) in seen or (*ident, True) in seen:
                continue
            seen.add((*ident, False))
            out.append(_dependency(ecosystem, source, package, False, bool(package.dev), bool(package.optional),
                                   None))  # fmt: skip
    return out


def _dependency(ecosystem, source, package: Package, direct, dev, optional, root: Root | None) -> Dependency:
    return Dependency(
        name=normalize(ecosystem, package.name),
        ecosystem=ecosystem,
        version=package.version,
        specifier=root.specifier if root else "",
        direct=direct,
        dev=dev,
        optional=optional,
        source=source,
        line=package.line,
        kind=package.kind,
        url=package.url,
        markers=(root.markers if root and root.markers else package.markers),
        extras=root.extras if root else (),
        groups=root.groups if root else (),
        hashes=package.hashes,
        alias=package.alias,
    )


__all__ = [
    "NPM",
    "PYPI",
    "LineFinder",
    "Package",
    "Root",
    "decode",
    "expect",
    "load_json",
    "load_toml",
    "load_yaml",
    "normalize",
    "walk",
]


@dataclass
class Manifest:
    """What a manifest declares: the project's name, its direct dependencies and runtime constraints."""

    name: str = ""
    dependencies: list[Dependency] = field(default_factory=list)
    python_requires: str = ""
    node_engines: str = ""
    workspaces: list[str] = field(default_factory=list)  # member globs (npm, yarn, pnpm, uv)


def pep508(text: str, file: str, finder: LineFinder | None, what: str):
    """Parse a PEP 508 requirement, raising ReadError with the line it is written on."""
    from packaging.requirements import InvalidRequirement, Requirement

    if not isinstance(text, str):
        raise ReadError(file, f"{what} should be a list of requirement strings, found {type(text).__name__}")
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        line = finder.find(text) if finder else None
        raise ReadError(file, f"{what} has a requirement that cannot be parsed ({exc}): {text[:200]!r}", line)


def exact_version(specifier) -> str | None:
    """Return the version a PEP 440 specifier set pins exactly (== without wildcard), else None."""
    specs = list(specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return None


@dataclass
class Lock:
    """What a lockfile resolves: dependencies per importer (project directory relative to the lockfile's)."""

    importers: dict[str, list[Dependency]] = field(default_factory=dict)
    # False for flat locks (Pipfile.lock, pylock.toml, a graph lock read without its manifest): which
    # dependencies are direct then comes from the manifest.
    knows_direct: bool = True

    @property
    def dependencies(self) -> list[Dependency]:
        """Return every importer's dependencies, each (name, version) once."""
        out, seen = [], set()
        for deps in self.importers.values():
            for dep in deps:
                ident = (dep.name, dep.version, dep.direct, dep.dev)
                if ident not in seen:
                    seen.add(ident)
                    out.append(dep)
        return out


def roots_from_manifest(manifest: Manifest | None, key_of) -> list[Root]:
    """Turn a manifest's declared dependencies into walk roots; key_of maps a dependency to a graph key."""
    if manifest is None:
        return []
    roots = []
    for dep in manifest.dependencies:
        key = key_of(dep)
        if key is not None:
            roots.append(Root(key, dep.specifier, dep.dev, dep.optional, dep.groups, dep.extras, dep.markers))
    return roots


def entry_lines(text: str, header: str) -> list[int]:
    """Return the line of each `[[header]]` entry's name, in file order (TOML arrays of tables keep it)."""
    finder = LineFinder(text)
    out = []
    for match in re.finditer(rf"^\[\[{re.escape(header)}\]\][ \t]*$", text, re.MULTILINE):
        name_at = re.compile(r"^name\s*=", re.MULTILINE).search(text, match.end())
        out.append(finder.line_of(name_at.start() if name_at else match.start()))
    return out
