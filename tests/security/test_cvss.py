"""Severity from CVSS vectors and advisory databases' words."""

import pytest

from keepwell.security import cvss


def test_cvss_v3_vectors_are_scored():
    rating = cvss.rate([{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}])
    assert (rating.severity, rating.score, rating.method) == ("critical", 9.8, "CVSSv31")


def test_cvss_v4_is_preferred_when_both_are_given():
    rating = cvss.rate(
        [
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"},
            {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
        ]
    )
    assert (rating.severity, rating.score, rating.method) == ("critical", 9.3, "CVSSv4")


def test_cvss_v2_has_no_critical_band():
    rating = cvss.rate([{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:C/I:C/A:C"}])
    assert (rating.severity, rating.score) == ("high", 10.0)


@pytest.mark.parametrize(
    "score, severity",
    [
        (0.0, "low"),
        (3.9, "low"),
        (4.0, "medium"),
        (6.9, "medium"),
        (7.0, "high"),
        (8.9, "high"),
        (9.0, "critical"),
    ],
)
def test_score_bands(score, severity):
    assert cvss.severity_of_score(score) == severity


@pytest.mark.parametrize(
    "entries",
    [
        [{"type": "CVSS_V3", "score": "garbage"}],
        [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:Q/AC:L"}],
        [{"type": "CVSS_V4", "score": "CVSS:4.0/" + "AV:N/" * 10_000}],
        [{"type": "CVSS_V3", "score": None}],
        ["not an object"],
        None,
        "CVSS:3.1/AV:N",
    ],
)
def test_unreadable_vectors_fall_back_to_words_then_unknown(entries):
    assert cvss.rate(entries).severity == "unknown"
    assert cvss.rate(entries, "MODERATE").severity == "medium"


def test_words_of_advisory_databases():
    assert cvss.rate([], "CRITICAL").severity == "critical"
    assert cvss.rate([], "High").severity == "high"
    assert cvss.rate([], "whatever", "LOW").severity == "low"


def test_malicious_packages_without_a_rating_are_critical():
    assert cvss.rate([], malicious=True).severity == "critical"
    assert cvss.rate([], "LOW", malicious=True).severity == "low"  # a database's own word still wins


def test_thresholds():
    assert cvss.at_or_above("critical", "high")
    assert not cvss.at_or_above("medium", "high")
    assert not cvss.at_or_above("unknown", "low")
    assert cvss.worst(["low", "unknown", "high"]) == "high"
    assert cvss.worst([]) == "unknown"
