"""HTTP(S) checks against a real server on loopback (and real certificates from trustme)."""

import asyncio
import ssl

import pytest
import trustme
from monitor_servers import HttpServer, free_port

from keepwell.monitoring.probes import run_check, validate


@pytest.fixture
def allow_private(settings):
    settings.ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def server(allow_private):
    s = HttpServer()
    yield s
    s.close()


def check(url, timeout=5, **config):
    target, config = validate("http", url, config)
    return asyncio.run(run_check("http", target, config, timeout))


def test_it_passes_a_200_with_status_and_latency(server):
    result = check(server.url + "/ok")
    assert result.ok, result.error
    assert result.status_code == 200
    assert result.latency_ms is not None and result.latency_ms >= 0


def test_it_fails_a_500_and_says_what_it_expected(server):
    result = check(server.url + "/status/500")
    assert not result.ok
    assert result.status_code == 500
    assert "HTTP 500, expected 200-399" in result.error


def test_it_accepts_the_status_codes_it_is_told_to(server):
    assert check(server.url + "/status/418", expected_statuses=[418]).ok
    assert check(server.url + "/status/503", expected_statuses=["5xx"]).ok
    assert not check(server.url + "/ok", expected_statuses=["300-399"]).ok


def test_it_looks_for_a_keyword_present_and_one_absent(server):
    assert check(server.url + "/ok", keyword="nominal").ok
    missing = check(server.url + "/ok", keyword="degraded")
    assert not missing.ok and "does not contain 'degraded'" in missing.error
    present = check(server.url + "/ok", keyword_absent="nominal")
    assert not present.ok and "contains 'nominal'" in present.error


def test_it_asserts_a_json_path(server):
    assert check(server.url + "/json", json_path="$.status", json_expected="green").ok
    assert check(server.url + "/json", json_path="data[0].ok").ok
    assert check(server.url + "/json", json_path="$.count", json_expected=3).ok
    wrong = check(server.url + "/json", json_path="$.status", json_expected="red")
    assert not wrong.ok and "$.status is green, expected 'red'" in wrong.error
    absent = check(server.url + "/json", json_path="$.data[5].ok")
    assert not absent.ok and "has no $.data[5].ok" in absent.error
    not_json = check(server.url + "/ok", json_path="$.status")
    assert not not_json.ok and "not JSON" in not_json.error


def test_it_follows_redirects_unless_told_not_to(server):
    followed = check(server.url + "/redirect", keyword="nominal")
    assert followed.ok and followed.status_code == 200
    kept = check(server.url + "/redirect", follow_redirects=False, expected_statuses=[302])
    assert kept.ok and kept.status_code == 302


def test_it_gives_up_on_a_redirect_loop(server):
    result = check(server.url + "/loop")
    assert not result.ok and "More than 10 redirects" in result.error


def test_it_fails_a_response_slower_than_allowed(server):
    result = check(server.url + "/slow", max_response_ms=100)
    assert not result.ok and "more than the 100 ms allowed" in result.error


def test_it_times_out(server):
    result = check(server.url + "/slow", timeout=0.1)
    assert not result.ok and "within the timeout of 0.1 s" in result.error


def test_it_sends_the_method_headers_and_body(server):
    assert check(server.url + "/echo", method="POST", body="ping-body", keyword="ping-body").ok
    assert check(server.url + "/echo", headers={"X-Token": "s3cret"}, keyword="s3cret").ok
    assert server.requests[0][0] == "POST"
    assert check(server.url + "/ok", method="HEAD").ok
    assert server.requests[-1][0] == "HEAD"


def test_it_reads_a_huge_response_only_up_to_its_limit(server):
    # The keyword sits after 3 MB; the check reads 1 MB and says the keyword is missing instead of hoarding.
    result = check(server.url + "/big", keyword="needle")
    assert not result.ok and "does not contain" in result.error


def test_it_reports_a_refused_connection(allow_private):
    result = check(f"http://127.0.0.1:{free_port()}/")
    assert not result.ok and "refused" in result.error.lower()


def test_it_refuses_loopback_unless_private_targets_are_allowed(settings):
    settings.ALLOW_PRIVATE_TARGETS = False
    s = HttpServer()
    try:
        result = check(s.url + "/ok")
    finally:
        s.close()
    assert not result.ok
    assert "KEEPWELL_ALLOW_PRIVATE_TARGETS=1" in result.error
    assert s.requests == []


@pytest.fixture
def https_server(allow_private, tmp_path):
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    s = HttpServer(context)
    yield s, str(cafile)
    s.close()


def test_it_checks_https_with_a_trusted_certificate(https_server):
    server, cafile = https_server
    target, config = validate("http", server.url + "/ok", {})
    result = asyncio.run(run_check("http", target, config, 5, cafile=cafile))
    assert result.ok, result.error


def test_it_fails_https_with_an_untrusted_certificate(https_server):
    server, _cafile = https_server
    result = check(server.url + "/ok")
    assert not result.ok and "certificate" in result.error.lower()


def test_every_redirect_hop_passes_the_guard(server):
    """A public page may not redirect the check into the private network."""
    from keepwell.core.netguard import BlockedTarget

    asked = []

    def guard(host, port):
        asked.append(host)
        if host == "localhost":
            raise BlockedTarget("localhost resolves to 127.0.0.1, a loopback address; keepwell refuses it.")
        return ["127.0.0.1"]

    target, config = validate("http", server.url.replace("127.0.0.1", "localhost") + "/ok", {})
    result = asyncio.run(run_check("http", target, config, 5, guard=guard))
    assert not result.ok and "refuses" in result.error
    assert asked == ["localhost"] and server.requests == []
    target, config = validate("http", server.url + "/to-localhost", {})
    result = asyncio.run(run_check("http", target, config, 5, guard=guard))
    assert not result.ok and "refuses" in result.error
    assert asked[-2:] == ["127.0.0.1", "localhost"]
    assert [path for _method, path, _headers in server.requests] == ["/to-localhost"]
