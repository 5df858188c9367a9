"""The posture probe against real TLS servers on loopback (a trustme CA): versions, certificate, headers."""

import ssl
from datetime import UTC, datetime, timedelta

import pytest
import trustme
from security_tls import https_server, leaf, server_context

from keepwell.security import posture, posture_probe

HEADERS = [
    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains"),
    ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Set-Cookie", "sessionid=abc; Secure; HttpOnly; SameSite=Strict"),
    ("Set-Cookie", "theme=dark; Secure; SameSite=Lax"),
]


@pytest.fixture
def ca():
    return trustme.CA()


@pytest.fixture
def cafile(ca):
    with ca.cert_pem.tempfile() as path:
        yield path


@pytest.fixture(autouse=True)
def private_targets_allowed(settings):
    settings.ALLOW_PRIVATE_TARGETS = True


def test_a_modern_server_is_seen_with_its_versions_certificate_and_every_cookie(ca, cafile):
    context = server_context(leaf(ca, days=90))
    with https_server(context, HEADERS) as url:
        obs = posture_probe.observe(url, cafile=cafile, timeout=5)
    assert obs.error == "" and obs.cert_error == ""
    assert obs.tls_versions == {"TLSv1": False, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": True}
    assert obs.cert_not_after - datetime.now(UTC) > timedelta(days=88)
    assert len(obs.headers["set-cookie"]) == 2
    assert obs.status_code == 200
    assert posture.grade(obs).grade == "A+"


def test_each_tls_version_is_tried_on_its_own(ca, cafile):
    context = server_context(leaf(ca), min_version=ssl.TLSVersion.TLSv1, max_version=ssl.TLSVersion.TLSv1_2)
    with https_server(context, HEADERS) as url:
        obs = posture_probe.observe(url, cafile=cafile, timeout=5)
    assert obs.tls_versions == {"TLSv1": True, "TLSv1.1": True, "TLSv1.2": True, "TLSv1.3": False}
    reasons = posture.grade(obs).reasons
    assert any(r.test == "tls" and r.modifier == -10 and "TLS 1.0 and TLS 1.1" in r.text for r in reasons)


def test_only_tls_1_3_is_seen_as_such(ca, cafile):
    context = server_context(leaf(ca), min_version=ssl.TLSVersion.TLSv1_3)
    with https_server(context, HEADERS) as url:
        obs = posture_probe.observe(url, cafile=cafile, timeout=5)
    assert obs.tls_versions == {"TLSv1": False, "TLSv1.1": False, "TLSv1.2": False, "TLSv1.3": True}


def test_a_certificate_from_an_unknown_ca_does_not_verify_but_the_headers_are_still_graded(ca):
    other = trustme.CA()
    context = server_context(leaf(ca))
    with https_server(context, HEADERS) as url, other.cert_pem.tempfile() as wrong_cafile:
        obs = posture_probe.observe(url, cafile=wrong_cafile, timeout=5)
    assert "certificate" in obs.cert_error or "issuer" in obs.cert_error
    assert obs.headers["x-content-type-options"] == ["nosniff"]
    assert any(r.modifier == -50 for r in posture.grade(obs).reasons)


def test_a_certificate_for_another_host_does_not_verify(ca, cafile):
    context = server_context(leaf(ca, names=("shop.example.com",)))
    with https_server(context, HEADERS) as url:
        obs = posture_probe.observe(url, cafile=cafile, timeout=5)
    assert "mismatch" in obs.cert_error.lower() or "match" in obs.cert_error.lower()


def test_an_expired_certificate_fails_the_grade(ca, cafile):
    now = datetime.now(UTC)
    expired = ca.issue_cert(
        "localhost", not_before=now - timedelta(days=100), not_after=now - timedelta(days=2)
    )
    with https_server(server_context(expired), HEADERS) as url:
        obs = posture_probe.observe(url, cafile=cafile, timeout=5)
    assert obs.cert_not_after < now
    result = posture.grade(obs)
    assert result.grade == "F"
    assert any("expired" in r.text for r in result.reasons)


def test_loopback_is_refused_unless_private_targets_are_allowed(settings, ca, cafile):
    settings.ALLOW_PRIVATE_TARGETS = False
    with https_server(server_context(leaf(ca)), HEADERS) as url:
        obs = posture_probe.observe(url, cafile=cafile, timeout=5)
    assert "KEEPWELL_ALLOW_PRIVATE_TARGETS" in obs.error
    assert obs.headers == {} and obs.tls_versions == {}


@pytest.mark.parametrize(
    "url, words",
    [("http://example.com/", "Only https"), ("https://", "no host"), ("https://[::1/", "not a valid URL"),
     ("https://exa mple.com:99999/", "not a valid URL")],
)  # fmt: skip
def test_urls_that_cannot_be_graded_are_explained(url, words):
    assert words in posture_probe.observe(url).error


def test_a_server_that_is_not_there_is_reported_not_raised():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    obs = posture_probe.observe(f"https://127.0.0.1:{port}/", timeout=2)
    assert "Could not open a TLS connection" in obs.error


def test_redirects_are_followed_and_cookies_set_on_the_way_count(ca, cafile):
    routes = {
        "/": (302, [("Location", "/en/"), ("Set-Cookie", "sessionid=x; Path=/")]),
        "/en/": (301, [("Location", "/en/home")]),
        "/en/home": (200, HEADERS[:3]),
    }
    with https_server(server_context(leaf(ca)), routes=routes) as url:
        obs = posture_probe.observe(url, cafile=cafile, timeout=5)
    assert obs.final_url == url + "en/home" and obs.status_code == 200
    assert obs.headers["x-content-type-options"] == ["nosniff"]
    assert obs.headers["set-cookie"] == ["sessionid=x; Path=/"]
    assert any(r.test == "cookies" and r.modifier == -40 for r in posture.grade(obs).reasons)


def test_a_redirect_to_plain_http_is_not_followed_and_costs_points(ca, cafile):
    routes = {"/": (301, [("Location", "http://localhost/"), *HEADERS[:3]])}
    with https_server(server_context(leaf(ca)), routes=routes) as url:
        obs = posture_probe.observe(url, cafile=cafile, timeout=5)
    assert obs.redirect_to_http == "http://localhost/"
    assert any(r.test == "redirection" and r.modifier == -20 for r in posture.grade(obs).reasons)


def test_a_redirect_loop_stops(ca, cafile):
    routes = {"/": (302, [("Location", "/"), *HEADERS[:3]])}
    with https_server(server_context(leaf(ca)), routes=routes) as url:
        obs = posture_probe.observe(url, cafile=cafile, timeout=5)
    assert obs.error == "" and obs.status_code == 302


def test_a_redirect_to_a_private_address_is_not_followed(settings, ca, cafile):
    routes = {"/": (302, [("Location", "https://10.255.255.1/admin"), *HEADERS[:3]])}
    with https_server(server_context(leaf(ca)), routes=routes) as url:
        settings.ALLOW_PRIVATE_TARGETS = True
        # Allowed for loopback in this test, but the guard still decides each hop: refuse this one.
        from keepwell.core import netguard

        real = netguard.check_host

        def guard(host, port=None):
            if host.startswith("10."):
                raise netguard.BlockedTarget("private")
            return real(host, port)

        posture_probe.check_host = guard
        try:
            obs = posture_probe.observe(url, cafile=cafile, timeout=5)
        finally:
            posture_probe.check_host = real
    assert obs.final_url == url and obs.status_code == 302
