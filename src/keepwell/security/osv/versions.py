"""Version ordering for OSV ranges: PEP 440 for PyPI, SemVer 2.0 precedence (pre-releases included) for npm.

A version that cannot be read in its ecosystem's syntax parses to None: it is never placed in a range (the
`versions` list may still name it exactly).
"""

from __future__ import annotations

import re
from functools import lru_cache

import semver
from packaging.utils import canonicalize_version
from packaging.version import InvalidVersion, Version

PYPI, NPM = "PyPI", "npm"
ECOSYSTEMS = (PYPI, NPM)

_NAME_SEPARATORS = re.compile(r"[-_.]+")


def normalize_name(ecosystem: str, name: str) -> str:
    """Return the name as the index keys it: PEP 503 for PyPI, lowercase for npm (npm names are lowercase)."""
    name = name.strip()
    if ecosystem == PYPI:
        return _NAME_SEPARATORS.sub("-", name).lower()
    return name.lower()


@lru_cache(maxsize=200_000)
def pep440(text: str) -> Version | None:
    """Return the PEP 440 version of `text`, or None when it is not one."""
    try:
        return Version(text)
    except (InvalidVersion, TypeError):
        return None


@lru_cache(maxsize=200_000)
def semver2(text: str) -> tuple | None:
    """Return the SemVer 2.0 precedence key of `text` (a leading "v" or "=" tolerated), or None if it is not one.

    Parsing is the `semver` package's; the key is a plain tuple so that comparing is fast: a release sorts after
    its pre-releases, numeric identifiers compare as numbers and before alphanumeric ones, a longer list of
    identifiers after its prefix, and build metadata does not count (section 11 of the specification).
    """
    text = text.strip()
    if text[:1] in ("v", "="):
        text = text[1:]
    try:
        version = semver.Version.parse(text)
    except (ValueError, TypeError):
        return None
    if version.prerelease is None:
        pre: tuple = (1,)
    else:
        pre = (0, tuple((0, int(p)) if p.isdigit() else (1, p) for p in version.prerelease.split(".")))
    return (version.major, version.minor, version.patch, pre)


def parser_for(ecosystem: str, range_type: str):
    """Return the function that reads versions of a range of `range_type` in `ecosystem` (None: cannot order)."""
    if range_type == "SEMVER":
        return semver2
    if range_type == "ECOSYSTEM":
        if ecosystem == PYPI:
            return pep440
        if ecosystem == NPM:
            return semver2  # npm versions are SemVer; npm advisories use ECOSYSTEM ranges
    return None  # GIT ranges (commit hashes) cannot be ordered without the repository


@lru_cache(maxsize=500_000)
def canonical(ecosystem: str, text: str) -> str:
    """Return the one spelling of a version that equality needs (PyPI: 1.0, 1.0.0 and 1.0.0.0 are all "1")."""
    if ecosystem == PYPI:
        version = pep440(text)
        return canonicalize_version(version, strip_trailing_zero=True) if version is not None else text
    if ecosystem == NPM:
        text = text.strip()
        return text[1:] if text[:1] in ("v", "=") else text
    return text
