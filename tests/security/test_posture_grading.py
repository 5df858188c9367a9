"""The posture grader (pure): Observatory-style scores and reasons from observed headers, TLS and certificate."""

from datetime import UTC, datetime, timedelta

import pytest

from keepwell.security import posture
from keepwell.security.posture import Observation, grade, letter, parse_csp, parse_hsts, parse_set_cookie

NOW = datetime(2030, 1, 1, tzinfo=UTC)
GOOD = {
    "strict-transport-security": ["max-age=31536000; includeSubDomains"],
    "content-security-policy": ["default-src 'self'; script-src 'self'; frame-ancestors 'none'"],
    "x-content-type-options": ["nosniff"],
    "x-frame-options": ["DENY"],
    "referrer-policy": ["same-origin"],
    "set-cookie": [
        "sessionid=x; Secure; HttpOnly; SameSite=Lax; Path=/",
        "csrftoken=y; Secure; SameSite=Lax",
    ],
}
MODERN = {"TLSv1": False, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": True}


def observe(headers=None, **kwargs):
    facts = {"tls_versions": MODERN, "cert_not_after": NOW + timedelta(days=80), **kwargs}
    return Observation(url="https://shop.example.com/", now=NOW, headers=GOOD if headers is None else headers,
                       **facts)  # fmt: skip


def without(*names, **replace):
    headers = {k: v for k, v in GOOD.items() if k not in names}
    headers.update({k.replace("_", "-"): v for k, v in replace.items()})
    return headers


def modifiers(result):
    return {(r.test, r.modifier) for r in result.reasons}


def test_a_site_that_does_everything_right_earns_an_a_plus():
    result = grade(observe())
    assert (result.grade, result.score) == ("A+", 115)
    assert ("csp", 0) in modifiers(result) and ("frames", 5) in modifiers(result)


def test_a_site_with_no_security_headers_fails():
    result = grade(observe({}))
    # -20 HSTS, -25 CSP, -20 frames, -5 nosniff
    assert (result.score, result.grade) == (30, "D")
    assert {"hsts", "csp", "frames", "x-content-type-options"} <= {r.test for r in result.reasons}


@pytest.mark.parametrize(
    "score, expected",
    [(130, "A+"), (100, "A+"), (99, "A"), (90, "A"), (85, "A-"), (80, "B+"), (70, "B"), (65, "B-"), (60, "C+"),
     (50, "C"), (45, "C-"), (40, "D+"), (30, "D"), (25, "D-"), (24, "F"), (0, "F")],
)  # fmt: skip
def test_scores_map_to_the_observatory_letters(score, expected):
    assert letter(score) == expected


def test_bonuses_count_only_from_ninety_points():
    result = grade(observe(without("strict-transport-security")))
    assert result.score == 80  # 100 - 20; the +15 of bonuses are not counted
    assert any(r.test == "bonus" for r in result.reasons)


def test_missing_hsts_short_max_age_and_invalid_hsts_are_penalised():
    assert ("hsts", -20) in modifiers(grade(observe(without("strict-transport-security"))))
    short = grade(observe(without(strict_transport_security=["max-age=300"])))
    assert ("hsts", -10) in modifiers(short)
    assert ("hsts", -20) in modifiers(
        grade(observe(without(strict_transport_security=["includeSubDomains"])))
    )


def test_csp_with_unsafe_inline_scripts_is_penalised_unless_a_nonce_guards_it():
    inline = without(content_security_policy=["default-src 'self'; script-src 'self' 'unsafe-inline'"])
    assert ("csp", -20) in modifiers(grade(observe(inline)))
    nonce = without(
        content_security_policy=["script-src 'self' 'unsafe-inline' 'nonce-abc'; default-src 'self'"]
    )
    assert ("csp", -20) not in modifiers(grade(observe(nonce)))
    no_scripts_rule = without(content_security_policy=["img-src 'self'"])
    assert ("csp", -20) in modifiers(grade(observe(no_scripts_rule)))


def test_csp_from_none_earns_a_bonus_and_any_host_scripts_lose_points():
    strict = without(
        content_security_policy=["default-src 'none'; script-src 'self'; frame-ancestors 'none'"]
    )
    # script-src is not 'none' but default-src is: the Observatory's best CSP case.
    assert ("csp", 10) in modifiers(grade(observe(strict)))
    anywhere = without(content_security_policy=["default-src 'self'; script-src https:"])
    assert ("csp", -10) in modifiers(grade(observe(anywhere)))


def test_frame_protection_from_x_frame_options_or_frame_ancestors():
    assert ("frames", 0) in modifiers(grade(observe(without(content_security_policy=["default-src 'self'"]))))
    neither = without("x-frame-options", content_security_policy=["default-src 'self'"])
    assert ("frames", -20) in modifiers(grade(observe(neither)))
    bogus = without(content_security_policy=["default-src 'self'"], x_frame_options=["ALLOW-FROM evil"])
    assert ("frames", -20) in modifiers(grade(observe(bogus)))


def test_cookie_flags_are_graded():
    insecure_session = without(set_cookie=["sessionid=x; HttpOnly; SameSite=Lax"])
    assert ("cookies", -40) in modifiers(grade(observe(insecure_session)))
    readable_session = without(set_cookie=["sessionid=x; Secure; SameSite=Lax"])
    assert ("cookies", -30) in modifiers(grade(observe(readable_session)))
    # A CSRF cookie must be readable by scripts: no HttpOnly needed.
    csrf = without(set_cookie=["csrftoken=x; Secure; SameSite=Lax"])
    assert ("cookies", 5) in modifiers(grade(observe(csrf)))
    no_samesite = without(set_cookie=["prefs=x; Secure"])
    assert ("cookies", 0) in modifiers(grade(observe(no_samesite)))


def test_old_tls_versions_and_certificate_problems_are_graded():
    old = grade(observe(tls_versions={**MODERN, "TLSv1": True}))
    assert ("tls", -10) in modifiers(old)
    expired = grade(observe(cert_not_after=NOW - timedelta(days=1)))
    assert expired.grade == "F" and ("certificate", -100) in modifiers(expired)
    soon = grade(observe(cert_not_after=NOW + timedelta(days=5)))
    assert ("certificate", -20) in modifiers(soon)
    broken = grade(observe(cert_error="unable to get local issuer certificate"))
    assert ("certificate", -50) in modifiers(broken)
    ancient = grade(
        observe(tls_versions={"TLSv1": True, "TLSv1.1": False, "TLSv1.2": False, "TLSv1.3": False})
    )
    assert ("tls", -40) in modifiers(ancient)


def test_an_unreachable_url_gets_an_f_with_the_reason():
    result = grade(Observation(url="https://x/", now=NOW, error="Could not connect"))
    assert result.grade == "F" and result.reasons[0].text == "Could not connect"


# --- The parsers, with malformed, huge and hostile input --------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (
            "max-age=31536000; includeSubDomains; preload",
            {"max_age": 31536000, "include_subdomains": True, "preload": True},
        ),  # fmt: skip
        ('max-age="600"', {"max_age": 600, "include_subdomains": False, "preload": False}),
        ("max-age=1; max-age=2", None),
        ("max-age=-5", None),
        ("max-age=abc", None),
        ("max-age=" + "9" * 40, None),
        ("", None),
        (";;;", None),
        ("max-age=1;" + "x;" * 20_000, None),
    ],
)
def test_hsts_parsing(value, expected):
    assert parse_hsts(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        ";;;",
        "default-src",
        "default-src 'self'; <script>alert(1)</script>",
        "a" * (posture.MAX_HEADER + 1),
    ],
)
def test_csp_parsing_survives_hostile_input(value):
    parsed = parse_csp(value)
    assert parsed is None or isinstance(parsed, list)
    grade(observe(without(content_security_policy=[value])))  # never raises


def test_cookie_parsing_survives_hostile_input():
    assert parse_set_cookie("") is None
    assert parse_set_cookie("=novalue; Secure") is None
    assert parse_set_cookie("noequals") is None
    cookie = parse_set_cookie("a=b;;; SECURE ; httponly; samesite=STRICT; samesite=none")
    assert cookie == posture.Cookie("a", True, True, "strict")
    huge = [f"c{i}=x" for i in range(10_000)]
    grade(observe(without(set_cookie=huge)))  # capped, never raises
