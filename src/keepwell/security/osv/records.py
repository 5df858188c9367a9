"""Read one OSV record into the little that matching needs; refuse what is not an OSV record."""

from __future__ import annotations

from dataclasses import dataclass, field

from keepwell.security import cvss

from .versions import ECOSYSTEMS, canonical, normalize_name

MAX_ID = 200  # characters in an id or alias
MAX_SUMMARY = 300
MAX_EVENTS = 10_000  # per range; more is not a real record
MAX_VERSIONS = 100_000  # per affected package
EVENT_KINDS = {"introduced": "i", "fixed": "f", "last_affected": "l", "limit": "x"}


class InvalidRecord(ValueError):
    """The JSON is not an OSV record keepwell can use; the message says what is wrong."""


@dataclass
class Affected:
    ecosystem: str
    name: str  # normalized (PEP 503 for PyPI)
    ranges: list  # [[type, [[kind, version], ...]], ...]; kind: i(ntroduced) f(ixed) l(ast_affected) (limi)x
    versions: list[str]  # in canonical spelling (versions.canonical)
    rating: cvss.Rating | None = None  # a per-package rating, when the record gives one

    def compact(self) -> dict:
        data: dict = {}
        if self.ranges:
            data["r"] = self.ranges
        if self.versions:
            data["v"] = self.versions
        if self.rating is not None:
            data["s"] = [self.rating.severity, self.rating.score, self.rating.vector]
        return data


@dataclass
class Advisory:
    id: str
    aliases: list[str]
    summary: str
    rating: cvss.Rating
    published: str = ""
    modified: str = ""
    affected: list[Affected] = field(default_factory=list)

    @property
    def malicious(self) -> bool:
        return self.id.startswith("MAL-")


def _text(value, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRecord(f"{what} must be a non-empty string")
    value = value.strip()
    if len(value) > limit:
        raise InvalidRecord(f"{what} is longer than {limit} characters")
    return value


def _word(obj) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("severity"), str):
        return obj["severity"]
    return None


def summary_of(record: dict) -> str:
    """Return the record's summary, else the first line of its details, cut to MAX_SUMMARY characters."""
    for key in ("summary", "details"):
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            line = value.strip().splitlines()[0].strip()
            return line if len(line) <= MAX_SUMMARY else line[: MAX_SUMMARY - 1] + "…"
    return ""


def _ranges(raw) -> list:
    ranges = []
    if not isinstance(raw, list):
        return ranges
    for rng in raw:
        if not isinstance(rng, dict) or not isinstance(rng.get("type"), str):
            continue
        events = rng.get("events")
        if not isinstance(events, list) or len(events) > MAX_EVENTS:
            continue
        compact = []
        for event in events:
            if not isinstance(event, dict) or len(event) != 1:
                continue  # the specification allows exactly one kind per event
            ((kind, version),) = event.items()
            if kind in EVENT_KINDS and isinstance(version, str) and 0 < len(version) <= MAX_ID:
                compact.append([EVENT_KINDS[kind], version])
        if compact:
            ranges.append([rng["type"], compact])
    return ranges


def parse(record, ecosystems=ECOSYSTEMS) -> Advisory | None:
    """Return the advisory in `record` (a decoded OSV JSON object); None when it is withdrawn.

    Only the affected packages of `ecosystems` are kept. Raise InvalidRecord when it is not an OSV record.
    """
    if not isinstance(record, dict):
        raise InvalidRecord("an OSV record is a JSON object")
    ident = _text(record.get("id"), "id", MAX_ID)
    if record.get("withdrawn"):
        return None  # withdrawn advisories are ignored, as the specification says
    aliases = record.get("aliases") or []
    if not isinstance(aliases, list):
        raise InvalidRecord(f"{ident}: aliases must be a list")
    aliases = sorted(
        {a.strip() for a in aliases if isinstance(a, str) and 0 < len(a.strip()) <= MAX_ID} - {ident}
    )
    malicious = ident.startswith("MAL-")
    rating = cvss.rate(record.get("severity"), _word(record.get("database_specific")), malicious=malicious)
    advisory = Advisory(
        id=ident,
        aliases=aliases,
        summary=summary_of(record),
        rating=rating,
        published=record.get("published") if isinstance(record.get("published"), str) else "",
        modified=record.get("modified") if isinstance(record.get("modified"), str) else "",
    )
    affected = record.get("affected") or []
    if not isinstance(affected, list):
        raise InvalidRecord(f"{ident}: affected must be a list")
    for entry in affected:
        if not isinstance(entry, dict) or not isinstance(entry.get("package"), dict):
            continue
        package = entry["package"]
        ecosystem, name = package.get("ecosystem"), package.get("name")
        if not isinstance(ecosystem, str) or not isinstance(name, str) or not name.strip():
            continue
        ecosystem = ecosystem.split(":", 1)[0]
        if ecosystem not in ecosystems or len(name) > 500:
            continue
        versions = entry.get("versions") or []
        if not isinstance(versions, list):
            versions = []
        # Kept in canonical spelling, so that matching is a set look-up (1.0 is 1.0.0 in PEP 440).
        versions = list(
            dict.fromkeys(
                canonical(ecosystem, v)
                for v in versions[:MAX_VERSIONS]
                if isinstance(v, str) and 0 < len(v) <= MAX_ID
            )
        )
        package_rating = None
        if (
            entry.get("severity")
            or _word(entry.get("ecosystem_specific"))
            or _word(entry.get("database_specific"))
        ):
            package_rating = cvss.rate(
                entry.get("severity"),
                _word(entry.get("ecosystem_specific")),
                _word(entry.get("database_specific")),
                malicious=malicious,
            )
            if package_rating.severity == cvss.UNKNOWN:
                package_rating = None
        advisory.affected.append(
            Affected(
                ecosystem,
                normalize_name(ecosystem, name),
                _ranges(entry.get("ranges")),
                versions,
                package_rating,
            )
        )
    return advisory
