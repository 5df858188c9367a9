"""Version ordering and drift for PyPI (PEP 440, `packaging`) and npm (SemVer ranges, `nodesemver`).

Pure functions, no Django: which versions exist is the registry's business, which one is newer, which one a
declared range allows and how far one is behind another is decided here.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import nodesemver
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from .types import NPM, PYPI

MAJOR, MINOR, PATCH = "major", "minor", "patch"
MAX_RANGE = 1000  # characters; a longer "range" is not one a person wrote
# nodesemver logs a traceback at INFO for every range it cannot read; the caller reports those itself.
logging.getLogger("nodesemver").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Behind:
    """How far a version is behind another: the first part that differs, and by how much (libyear's delta)."""

    major: int = 0
    minor: int = 0
    patch: int = 0

    @property
    def kind(self) -> str | None:
        """Return "major", "minor", "patch" or None (up to date)."""
        if self.major:
            return MAJOR
        if self.minor:
            return MINOR
        if self.patch:
            return PATCH
        return None


# Parsing dominates a scan (hundreds of packages × dozens of versions): each string is parsed once.
@functools.lru_cache(maxsize=65536)
def _pypi(value: str) -> Version | None:
    try:
        return Version(value)
    except (InvalidVersion, TypeError):
        return None


@functools.lru_cache(maxsize=65536)
def _npm(value: str):
    try:
        return nodesemver.make_semver(value, loose=True)
    except (ValueError, TypeError, AttributeError):
        return None


@functools.lru_cache(maxsize=4096)
def _pypi_range(specifier: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(specifier)
    except InvalidSpecifier:
        return None


@functools.lru_cache(maxsize=4096)
def _npm_range(specifier: str):
    try:
        return nodesemver.make_range(specifier, loose=True)
    except (ValueError, TypeError, AttributeError):
        return None


def clear_caches() -> None:
    """Forget every parsed version and range (a benchmark's cold start)."""
    for cached in (_pypi, _npm, _pypi_range, _npm_range):
        cached.cache_clear()


def parse(ecosystem: str, value: str):
    """Return a comparable version of `value` for `ecosystem`, or None when it is not one."""
    if not isinstance(value, str) or len(value) > 200:
        return None
    return _pypi(value) if ecosystem == PYPI else _npm(value.strip())


def is_prerelease(ecosystem: str, value: str) -> bool:
    """Return True for a pre-release ("2.0.0rc1", "2.0.0-beta.1") or a development release."""
    v = parse(ecosystem, value)
    if v is None:
        return False
    if ecosystem == PYPI:
        return v.is_prerelease or v.is_devrelease
    return bool(v.prerelease)


def sort_key(ecosystem: str, value: str):
    """Return a key that orders versions oldest first; versions that do not parse sort before all others."""
    v = parse(ecosystem, value)
    if v is None:
        return (0, value)
    if ecosystem == PYPI:
        return (1, v)
    return (1, _NpmKey(v))


@functools.total_ordering
class _NpmKey:
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v

    def __lt__(self, other):
        return self.v.compare(other.v) < 0

    def __eq__(self, other):
        return self.v.compare(other.v) == 0


def _candidates(ecosystem, versions: Iterable[str], current: str | None, include_prereleases: bool):
    allow_pre = include_prereleases or bool(current and is_prerelease(ecosystem, current))
    out = []
    for value in versions:
        if parse(ecosystem, value) is None:
            continue
        if not allow_pre and is_prerelease(ecosystem, value):
            continue
        out.append(value)
    return out


def latest(
    ecosystem: str, versions: Iterable[str], current: str | None = None, include_prereleases: bool = False
) -> str | None:
    """Return the newest of `versions`; pre-releases only count when `current` is one (or when asked)."""
    found = _candidates(ecosystem, versions, current, include_prereleases)
    return max(found, key=lambda v: sort_key(ecosystem, v)) if found else None


def valid_range(ecosystem: str, specifier: str) -> bool:
    """Return True when `specifier` is a range this ecosystem understands ("" allows everything)."""
    if not specifier.strip():
        return True
    if len(specifier) > MAX_RANGE:
        return False
    if ecosystem == PYPI:
        return _pypi_range(specifier) is not None
    return _npm_range(specifier) is not None


def allows(ecosystem: str, specifier: str, version: str) -> bool:
    """Return True when the declared range `specifier` allows `version`."""
    if not specifier.strip():
        return True
    if len(specifier) > MAX_RANGE:
        return False
    if ecosystem == PYPI:
        spec, parsed = _pypi_range(specifier), _pypi(version)
        return spec is not None and parsed is not None and spec.contains(parsed, prereleases=True)
    spec, parsed = _npm_range(specifier), _npm(version)
    if spec is None or parsed is None:
        return False
    try:
        return spec.test(parsed, include_prerelease=True)
    except (ValueError, TypeError, AttributeError):
        return False


def latest_allowed(
    ecosystem: str, versions: Iterable[str], specifier: str, current: str | None = None
) -> str | None:
    """Return the newest version the declared range allows; pre-releases only when `current` is one."""
    found = [v for v in _candidates(ecosystem, versions, current, False) if allows(ecosystem, specifier, v)]
    return max(found, key=lambda v: sort_key(ecosystem, v)) if found else None


def _parts(ecosystem: str, value: str) -> tuple[int, int, int] | None:
    v = parse(ecosystem, value)
    if v is None:
        return None
    if ecosystem == PYPI:
        release = (*v.release, 0, 0)
        return release[0], release[1], release[2]
    return v.major, v.minor, v.patch


def behind(ecosystem: str, current: str, target: str | None) -> Behind:
    """Return how far `current` is behind `target` (zero when it is not behind or either does not parse)."""
    if not target or not current:
        return Behind()
    a, b = _parts(ecosystem, current), _parts(ecosystem, target)
    if a is None or b is None or sort_key(ecosystem, target) <= sort_key(ecosystem, current):
        return Behind()
    if b[0] != a[0]:
        return Behind(major=max(b[0] - a[0], 0))
    if b[1] != a[1]:
        return Behind(minor=max(b[1] - a[1], 0))
    if b[2] != a[2]:
        return Behind(patch=max(b[2] - a[2], 0))
    # Only a fourth part, a post-release or a pre-release differs: call it a patch.
    return Behind(patch=1)


def is_newer(ecosystem: str, candidate: str | None, current: str | None) -> bool:
    """Return True when `candidate` is a newer version than `current`."""
    if not candidate or not current:
        return False
    if parse(ecosystem, candidate) is None or parse(ecosystem, current) is None:
        return False
    return sort_key(ecosystem, candidate) > sort_key(ecosystem, current)


__all__ = [
    "MAJOR",
    "MINOR",
    "NPM",
    "PATCH",
    "PYPI",
    "Behind",
    "allows",
    "behind",
    "is_newer",
    "is_prerelease",
    "latest",
    "latest_allowed",
    "parse",
    "sort_key",
    "valid_range",
]
