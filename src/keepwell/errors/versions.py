"""Which of two release names is newer: PEP 440 where both parse, else SemVer, else the first-seen time.

Sentry SDKs name releases freely: `1.4.2`, `v1.4.2`, `shop@1.4.2+abc123`, `2024.05.01`, a git sha. A
`package@` prefix is dropped when both names carry the same one; names of different packages compare
only by time. Pure logic, no Django.
"""

import re
from datetime import datetime

import semver
from packaging.version import InvalidVersion, Version

MAX_LENGTH = 200  # longer names are not parsed as versions (compared by time)
_PACKAGE = re.compile(r"^(?P<package>[^@\s]+)@(?P<version>.+)$")


def split_package(name: str) -> tuple[str, str]:
    """Return (package, version) of a release name like `shop@1.2.3`; package is "" when absent."""
    match = _PACKAGE.match(name)
    if match:
        return match["package"], match["version"]
    return "", name


def pep440(version: str) -> Version | None:
    """Return the PEP 440 version, or None when `version` is not one."""
    if len(version) > MAX_LENGTH:
        return None
    try:
        return Version(version)
    except InvalidVersion:
        return None


def semantic(version: str) -> semver.Version | None:
    """Return the SemVer 2.0 version (a leading `v` allowed), or None when `version` is not one."""
    if len(version) > MAX_LENGTH:
        return None
    try:
        return semver.Version.parse(version[1:] if version[:1] in "vV" else version)
    except (ValueError, TypeError):
        return None


def _sign(value) -> int:
    return (value > 0) - (value < 0)


def compare(a: str, b: str, a_seen: datetime | None = None, b_seen: datetime | None = None) -> int:
    """Return -1, 0 or 1 as release `a` is older than, as old as, or newer than release `b`.

    By PEP 440 when both names parse as it, else by SemVer when both do, else by the times each was first
    seen (`a_seen`, `b_seen`); 0 when nothing tells them apart.
    """
    if a == b:
        return 0
    a_package, a_version = split_package(a)
    b_package, b_version = split_package(b)
    if a_package == b_package:
        pa, pb = pep440(a_version), pep440(b_version)
        if pa is not None and pb is not None and pa != pb:
            return _sign((pa > pb) - (pa < pb))
        sa, sb = semantic(a_version), semantic(b_version)
        if sa is not None and sb is not None and sa.compare(sb) != 0:
            return _sign(sa.compare(sb))
    if a_seen is not None and b_seen is not None and a_seen != b_seen:
        return 1 if a_seen > b_seen else -1
    return 0


def newest(names: list[str], seen: dict[str, datetime] | None = None) -> str | None:
    """Return the newest of `names` by `compare` (ties keep the earlier name), or None for no names."""
    seen = seen or {}
    best = None
    for name in names:
        if best is None or compare(name, best, seen.get(name), seen.get(best)) > 0:
            best = name
    return best
