"""Decide whether a package version is affected, per the OSV specification's evaluation rules.

    IsVulnerable(pkg, v) = v is in affected.versions, or v falls in one of affected.ranges, where a range
    is walked over its events sorted by version (introduced sets, fixed and last_affected clear) and only
    counts while v is below one of its `limit` events (none given: no limit).

Matches of records that are aliases of each other (transitively) are one vulnerability. No Django here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keepwell.security import cvss

from .versions import NPM, PYPI, canonical, parser_for, pep440, semver2

_ZERO = object()  # introduced "0": before every version
_INFINITY = object()  # limit "*": after every version


def _event_key(item):
    value = item[1]
    return (0,) if value is _ZERO else (1, value)


def _parsed_events(parse, events):
    parsed = []
    for kind, text in events:
        if kind == "i" and text == "0":
            parsed.append((kind, _ZERO))
        elif kind == "x" and "*" in text:
            parsed.append((kind, _INFINITY))
        else:
            value = parse(text)
            if value is not None:  # an unreadable event cannot be placed; it is left out
                parsed.append((kind, value))
    return parsed


def included_in_ranges(ecosystem: str, version: str, ranges) -> bool:
    """Return True when `version` falls in one of the compact `ranges` ([type, [[kind, version], ...]])."""
    for range_type, events in ranges:
        parse = parser_for(ecosystem, range_type)
        if parse is None:
            continue
        v = parse(version)
        if v is None:
            continue
        parsed = _parsed_events(parse, events)
        limits = [value for kind, value in parsed if kind == "x"]
        if limits and not any(limit is _INFINITY or v < limit for limit in limits):
            continue
        vulnerable = False
        for kind, value in sorted((e for e in parsed if e[0] != "x"), key=_event_key):
            if kind == "i" and (value is _ZERO or v >= value):
                vulnerable = True
            elif kind == "f" and value is not _ZERO and v >= value:
                vulnerable = False
            elif kind == "l" and value is not _ZERO and v > value:
                vulnerable = False
        if vulnerable:
            return True
    return False


def included_in_versions(ecosystem: str, version: str, versions) -> bool:
    """Return True when `versions` (canonical spellings, as the index keeps them) names `version`.

    Equality is the ecosystem's: for PyPI 1.0 is 1.0.0, as PEP 440 says.
    """
    if not versions:
        return False
    return version in versions or canonical(ecosystem, version) in versions


def is_affected(ecosystem: str, version: str, entries) -> bool:
    """Return True when one of the compact affected `entries` ({"r": ranges, "v": versions}) covers version."""
    return any(
        included_in_versions(ecosystem, version, entry.get("v"))
        or included_in_ranges(ecosystem, version, entry.get("r", ()))
        for entry in entries
    )


def _order(ecosystem: str):
    return pep440 if ecosystem == PYPI else semver2 if ecosystem == NPM else None


def smallest_fix(ecosystem: str, version: str, entry_groups) -> str | None:
    """Return the smallest `fixed` version above `version` that none of `entry_groups` affects, or None.

    Each item of entry_groups is the list of compact affected entries of one advisory for this package; the
    suggestion must clear all of them.
    """
    parse = _order(ecosystem)
    if parse is None:
        return None
    current = parse(version)
    if current is None:
        return None
    candidates = {}
    for entries in entry_groups:
        for entry in entries:
            for _range_type, events in entry.get("r", ()):
                for kind, text in events:
                    if kind == "f":
                        value = parse(text)
                        if value is not None and value > current:
                            candidates.setdefault(value, text)
    for value in sorted(candidates):
        text = candidates[value]
        if not any(is_affected(ecosystem, text, entries) for entries in entry_groups):
            return text
    return None


@dataclass(frozen=True)
class Record:
    """One advisory as the index stores it, with this package's affected entries."""

    id: str
    group: str
    aliases: tuple[str, ...]
    summary: str
    severity: str
    score: float | None
    vector: str
    published: str
    modified: str
    entries: tuple[dict, ...]

    def rating(self) -> tuple[str, float | None, str]:
        """Return (severity, score, vector) for this package: its own rating when the record has one."""
        for entry in self.entries:
            if entry.get("s"):
                severity, score, vector = entry["s"]
                return severity, score, vector
        return self.severity, self.score, self.vector


@dataclass
class Vulnerability:
    """One vulnerability (a group of aliased advisories) affecting one package at one version."""

    package: str
    ecosystem: str
    version: str
    id: str
    aliases: list[str]
    severity: str
    cvss_score: float | None
    cvss_vector: str
    summary: str
    fixed_in: str | None  # the smallest version that clears this vulnerability; None: no fix known
    records: list[str] = field(default_factory=list)  # the advisories of the group that matched
    published: str = ""
    modified: str = ""

    @property
    def malicious(self) -> bool:
        return any(r.startswith("MAL-") for r in self.records)

    @property
    def url(self) -> str:
        return f"https://osv.dev/vulnerability/{self.id}"


# Which advisory names a group: the ecosystem's own database first, then GitHub's, then the rest.
_PREFERRED = {PYPI: ("PYSEC-", "GHSA-", "MAL-"), NPM: ("GHSA-", "MAL-")}


def _primary(ecosystem: str, ids) -> str:
    prefixes = _PREFERRED.get(ecosystem, ("GHSA-",))

    def rank(ident):
        for i, prefix in enumerate(prefixes):
            if ident.startswith(prefix):
                return (i, ident)
        return (len(prefixes), ident)

    return min(ids, key=rank)


def match_package(
    ecosystem: str, package: str, version: str, records
) -> tuple[list[Vulnerability], str | None]:
    """Return the vulnerabilities of `package` at `version` among `records`, and the smallest version clearing all.

    `records` are the index's Records for this package (any order); aliased ones become one Vulnerability.
    """
    groups: dict[str, list[Record]] = {}
    for record in records:
        if is_affected(ecosystem, version, record.entries):
            groups.setdefault(record.group or record.id, []).append(record)
    found = []
    for members in groups.values():
        ids = sorted({m.id for m in members})
        primary = _primary(ecosystem, ids)
        names = set(ids)
        for m in members:
            names.update(m.aliases)
        ratings = [m.rating() for m in members]
        severity = cvss.worst(r[0] for r in ratings)
        scored = [r for r in ratings if r[1] is not None]
        best = max(scored, key=lambda r: r[1]) if scored else (severity, None, "")
        head = next(m for m in members if m.id == primary)
        found.append(
            Vulnerability(
                package=package,
                ecosystem=ecosystem,
                version=version,
                id=primary,
                aliases=sorted(names - {primary}),
                severity=severity,
                cvss_score=best[1],
                cvss_vector=best[2],
                summary=head.summary or next((m.summary for m in members if m.summary), ""),
                fixed_in=smallest_fix(ecosystem, version, [m.entries for m in members]),
                records=ids,
                published=min((m.published for m in members if m.published), default=""),
                modified=max((m.modified for m in members if m.modified), default=""),
            )
        )
    found.sort(key=lambda v: (-cvss.RANK.get(v.severity, 0), v.id))
    all_entries = [m.entries for members in groups.values() for m in members]
    return found, (smallest_fix(ecosystem, version, all_entries) if found else None)
