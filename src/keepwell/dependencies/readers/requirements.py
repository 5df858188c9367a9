"""Read pip requirements files: includes, constraints, hashes, markers, extras, editable/URL/VCS/path lines."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement

from keepwell.dependencies.readers._common import normalize
from keepwell.dependencies.types import EDITABLE, PATH, PYPI, REGISTRY, URL, VCS, Dependency, ReadError

# A file whose own name says it is for development, tests, linting or docs holds dev dependencies.
_DEV_NAME = re.compile(r"(^|[-_./])(dev|devel|develop|test|tests|testing|lint|docs?|ci|typing|mypy)([-_.]|$)")
_COMMENT = re.compile(r"(^|\s+)#.*$")
_VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
_EGG = re.compile(r"[#&]egg=([^&\s]+)")
# Option lines that take a value and configure pip rather than name a requirement.
_SKIPPED_OPTIONS = (
    "-i", "--index-url", "--extra-index-url", "--no-index", "-f", "--find-links", "--pre", "--trusted-host",
    "--no-binary", "--only-binary", "--prefer-binary", "--require-hashes", "--use-feature", "--config-settings",
    "--global-option", "--install-option", "--use-pep517", "--no-build-isolation", "--upgrade-strategy",
)  # fmt: skip

Loader = Callable[[str], str]  # relative path -> text; raises ReadError


def is_dev_file(rel: str) -> bool:
    """Tell whether a requirements file's name (or its folder's) marks it as development-only."""
    parts = rel.lower().split("/")
    parent = parts[-2] if len(parts) > 1 else ""
    return bool(_DEV_NAME.search(parts[-1])) or (parent != "requirements" and bool(_DEV_NAME.search(parent)))


def _logical_lines(text: str):
    """Yield (first line number, joined text, following comment lines) with continuations joined."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = i + 1
        parts = []
        line = lines[i]
        while True:
            stripped = _COMMENT.sub("", line) if not line.lstrip().startswith("#") else ""
            if stripped.rstrip().endswith("\\") and i + 1 < len(lines):
                parts.append(stripped.rstrip()[:-1])
                i += 1
                line = lines[i]
                continue
            parts.append(stripped)
            break
        i += 1
        comments = []
        while i < len(lines) and lines[i].lstrip().startswith("#"):
            comments.append(lines[i].lstrip()[1:].strip())
            i += 1
        yield start, " ".join(p.strip() for p in parts).strip(), comments


def _via_is_transitive(comments: list[str]) -> bool:
    """Read pip-compile's "# via" annotations: True when the line is only pulled in by other packages."""
    items: list[str] = []
    collecting = False
    for comment in comments:
        if comment.startswith("via"):
            collecting = True
            rest = comment[3:].strip()
            if rest:
                items.append(rest)
        elif collecting and comment:
            items.append(comment)
        else:
            collecting = False
    return bool(items) and not any(item.startswith("-r") for item in items)


def _split_option(line: str, *names: str) -> str | None:
    for name in names:
        if line.startswith(name + "=") and name.startswith("--"):
            return line[len(name) + 1 :].strip()
        if line.startswith(name) and (len(line) == len(name) or line[len(name)] in " \t"):
            return line[len(name) :].strip()
    return None


def _name_from_location(location: str) -> str:
    egg = _EGG.search(location)
    if egg:
        return egg.group(1).split("[")[0]
    path = urlsplit(location).path if "://" in location else location
    path = re.sub(r"\[[^\]]*\]$", "", path)  # "-e .[dev]": the extras are not part of the name
    base = path.rstrip("/").rsplit("/", 1)[-1]
    if base in ("", ".", ".."):
        return "."  # the project itself (or its parent): reported as a path, with no name to guess
    for suffix in (".git", ".tar.gz", ".zip", ".tar.bz2", ".tgz"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    if base.endswith(".whl"):
        base = base.split("-")[0]
    return base or location


def _location_kind(location: str) -> str:
    if location.startswith(_VCS_PREFIXES):
        return VCS
    if location.startswith("file:") or "://" not in location:
        return PATH
    return URL


class _Reader:
    def __init__(self, root_rel: str, load: Loader):
        self.root_rel = root_rel
        self.load = load
        self.deps: list[Dependency] = []
        self.constraints: dict[str, str] = {}
        self.seen: set[str] = set()

    def read(self, rel: str, constraint: bool = False, include_line: tuple[str, int] | None = None):
        if rel in self.seen:
            return
        self.seen.add(rel)
        text = self.load(rel)
        dev = is_dev_file(rel)
        for number, line, comments in _logical_lines(text):
            if not line:
                continue
            self._line(rel, number, line, comments, dev, constraint)

    def _include(self, rel: str, number: int, target: str, constraint: bool):
        if "://" in target:
            raise ReadError(
                rel, f"includes {target!r} from the network; keepwell only reads local files", number
            )
        joined = os.path.normpath(os.path.join(os.path.dirname(rel), target)).replace(os.sep, "/")
        if joined.startswith("../") or joined == ".." or os.path.isabs(target):
            raise ReadError(rel, f"includes {target!r}, which is outside the scanned repository", number)
        try:
            self.read(joined, constraint)
        except ReadError as exc:
            if exc.file == joined and exc.line is None:
                raise ReadError(rel, f"includes {target!r}, which cannot be read: {exc.message}", number)
            raise

    def _line(self, rel, number, line, comments, dev, constraint):
        for names, is_constraint in ((("-r", "--requirement"), False), (("-c", "--constraint"), True)):
            target = _split_option(line, *names)
            if target is not None:
                if not target:
                    raise ReadError(rel, f"{names[1]} needs a file name", number)
                self._include(rel, number, target, constraint or is_constraint)
                return
        editable = _split_option(line, "-e", "--editable")
        if editable is not None:
            location = editable.split(" --")[0].strip()
            if not location:
                raise ReadError(rel, "--editable needs a path or URL", number)
            if not constraint:
                self.deps.append(
                    self._make(rel, number, _name_from_location(location), EDITABLE, location, dev)
                )
            return
        if line.startswith("-"):
            if line.startswith(_SKIPPED_OPTIONS):
                return
            raise ReadError(rel, f"has an option pip does not know here: {line.split()[0]!r}", number)
        hashes = tuple(h.strip() for h in re.findall(r"--hash[=\s]+(\S+)", line))
        requirement_text = re.split(r"\s--?[a-z]", " " + line, maxsplit=1)[0].strip()
        self._requirement(rel, number, requirement_text, hashes, comments, dev, constraint)

    def _requirement(self, rel, number, text, hashes, comments, dev, constraint):
        # A bare URL or path (no "name @"): reported as what it is, with the name the URL gives.
        looks_like_location = (
            text.startswith(_VCS_PREFIXES)
            or "://" in text.split(";")[0].split(" @ ")[0]
            or text.startswith((".", "/", "~"))
            or text.split(";")[0].strip().endswith((".whl", ".tar.gz", ".zip"))
        )
        if looks_like_location and " @ " not in text:
            location, _, markers = text.partition(";")
            location = location.strip()
            if not constraint:
                self.deps.append(
                    self._make(rel, number, _name_from_location(location), _location_kind(location), location,
                               dev, markers=markers.strip(), hashes=hashes)
                )  # fmt: skip
            return
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise ReadError(rel, f"has a requirement pip cannot parse ({exc}): {text[:200]!r}", number)
        specifier = str(req.specifier)
        version = None
        specs = list(req.specifier)
        if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
            version = specs[0].version
        name = normalize(PYPI, req.name)
        if constraint:
            if version:
                self.constraints[name] = version
            return
        kind, url = REGISTRY, ""
        if req.url:
            kind, url = _location_kind(req.url), req.url
            version = None
        self.deps.append(
            Dependency(
                name=name, ecosystem=PYPI, version=version, specifier=specifier,
                direct=not _via_is_transitive(comments), dev=dev, source=rel, line=number, kind=kind, url=url,
                markers=str(req.marker) if req.marker else "", extras=tuple(sorted(req.extras)),
                groups=(PurePosixPath(rel).name,), hashes=hashes,
            )
        )  # fmt: skip

    def _make(self, rel, number, name, kind, url, dev, markers="", hashes=()):
        return Dependency(
            name=normalize(PYPI, name) if name != "." else ".", ecosystem=PYPI, version=None, source=rel,
            line=number, kind=kind,
            url=url, dev=dev, markers=markers, groups=(PurePosixPath(rel).name,), hashes=hashes,
        )  # fmt: skip


def read(rel: str, load: Loader) -> list[Dependency]:
    """Read a requirements file and the files it includes; constraints fill in exact versions."""
    reader = _Reader(rel, load)
    reader.read(rel)
    out = []
    for dep in reader.deps:
        if dep.version is None and dep.kind == REGISTRY and dep.name in reader.constraints:
            from dataclasses import replace

            dep = replace(dep, version=reader.constraints[dep.name])
        out.append(dep)
    return out
