"""Severity from CVSS vectors (v2, v3.x, v4.0) and from advisory databases' own words; no Django here.

Security severities are critical, high, medium, low and unknown. Scores come from the `cvss` package
(Red Hat's calculator); the qualitative bands are the CVSS specification's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN = "critical", "high", "medium", "low", "unknown"
SEVERITIES = (CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN)
# Higher is worse; unknown ranks lowest so that "--fail-on low" does not fail on a record without a rating.
RANK = {UNKNOWN: 0, LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4}

# Words that advisory databases put in database_specific.severity (GitHub says MODERATE for medium).
WORDS = {
    "critical": CRITICAL,
    "high": HIGH,
    "important": HIGH,
    "moderate": MEDIUM,
    "medium": MEDIUM,
    "low": LOW,
    "negligible": LOW,
    "none": LOW,
}

# Which vector wins when a record gives several: the newest CVSS version.
PREFERENCE = ("CVSS_V4", "CVSS_V3", "CVSS_V2")


@dataclass(frozen=True)
class Rating:
    severity: str
    score: float | None = None
    vector: str = ""  # the vector the score was computed from ("" when the severity came from a word)
    method: str = ""  # "CVSSv4", "CVSSv31", "CVSSv3", "CVSSv2", or "other"


def severity_of_score(score: float, version: int = 3) -> str:
    """Return the qualitative severity of a CVSS base score (v2 has no critical band)."""
    if version == 2:
        return HIGH if score >= 7.0 else MEDIUM if score >= 4.0 else LOW
    if score >= 9.0:
        return CRITICAL
    if score >= 7.0:
        return HIGH
    if score >= 4.0:
        return MEDIUM
    return LOW  # 0.0 is "none" in CVSS: the lowest we have


@lru_cache(maxsize=65_536)  # exports repeat the same few thousand vectors; scoring one costs ~100 µs
def rate_vector(kind: str, vector: str) -> Rating | None:
    """Return the rating of one OSV severity entry, or None when the vector cannot be read."""
    from cvss import CVSS2, CVSS3, CVSS4
    from cvss.exceptions import CVSSError

    vector = (vector or "").strip()
    if not vector or len(vector) > 500:
        return None
    try:
        if kind == "CVSS_V4":
            c4 = CVSS4(vector)
            score = float(c4.base_score)
            return Rating(severity_of_score(score), score, vector, "CVSSv4")
        if kind == "CVSS_V3":
            c3 = CVSS3(vector)
            score = float(c3.scores()[0])
            method = "CVSSv31" if vector.startswith("CVSS:3.1/") else "CVSSv3"
            return Rating(severity_of_score(score), score, vector, method)
        if kind == "CVSS_V2":
            c2 = CVSS2(vector)
            score = float(c2.scores()[0])
            return Rating(severity_of_score(score, version=2), score, vector, "CVSSv2")
    except (CVSSError, ValueError, KeyError, IndexError, TypeError):
        return None
    return None


def rate(severity_entries, *words, malicious: bool = False) -> Rating:
    """Return the rating of an advisory from its `severity` entries, else a database's word, else unknown.

    `severity_entries` is OSV's list of {"type", "score"}; `words` are database_specific/ecosystem_specific
    severities in order of preference. A malicious package (a MAL- record) with no rating is critical: the
    package itself is the attack.
    """
    by_kind: dict[str, str] = {}
    for entry in severity_entries or ():
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("type"), str)
            and isinstance(entry.get("score"), str)
        ):
            by_kind.setdefault(entry["type"], entry["score"])
    for kind in PREFERENCE:
        if kind in by_kind:
            rating = rate_vector(kind, by_kind[kind])
            if rating is not None:
                return rating
    for word in words:
        if isinstance(word, str) and word.strip().lower() in WORDS:
            return Rating(WORDS[word.strip().lower()], method="other")
    return Rating(CRITICAL if malicious else UNKNOWN, method="other")


def worst(severities) -> str:
    """Return the worst of `severities` (unknown when there are none)."""
    return max(severities, key=lambda s: RANK.get(s, 0), default=UNKNOWN)


def at_or_above(severity: str, threshold: str) -> bool:
    """Return True when `severity` is at least as bad as `threshold`."""
    return RANK.get(severity, 0) >= RANK[threshold]
