"""TCP, DNS and TLS certificate checks against real servers on loopback."""

import asyncio
import socket
from datetime import UTC, datetime, timedelta

import pytest
import trustme
from monitor_servers import DnsServer, TlsPort, free_port

from keepwell.monitoring.probes import run_check, validate


@pytest.fixture(autouse=True)
def allow_private(settings):
    settings.ALLOW_PRIVATE_TARGETS = True


def check(kind, target, timeout=5, cafile=None, **config):
    target, config = validate(kind, target, config)
    return asyncio.run(run_check(kind, target, config, timeout, cafile=cafile))


def test_it_passes_a_tcp_port_that_listens():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        result = check("tcp", f"127.0.0.1:{listener.getsockname()[1]}")
    assert result.ok, result.error
    assert result.latency_ms is not None


def test_it_fails_a_tcp_port_nobody_listens_on():
    result = check("tcp", f"127.0.0.1:{free_port()}")
    assert not result.ok
    assert result.error == "Connection refused: nothing listens on that port."


def test_it_refuses_a_loopback_tcp_port_by_default(settings):
    settings.ALLOW_PRIVATE_TARGETS = False
    with socket.create_server(("127.0.0.1", 0)) as listener:
        result = check("tcp", f"localhost:{listener.getsockname()[1]}")
    assert not result.ok and "KEEPWELL_ALLOW_PRIVATE_TARGETS" in result.error


@pytest.fixture
def dns_server():
    server = DnsServer(
        {
            ("shop.example.test", "A"): ["203.0.113.7", "203.0.113.8"],
            ("shop.example.test", "MX"): ["10 mail.example.test."],
            ("shop.example.test", "TXT"): ['"v=spf1 -all"'],
            ("empty.example.test", "A"): [],
        }
    )
    yield server
    server.close()


def dns(server, name, **config):
    return check("dns", name, nameserver="127.0.0.1", port=server.port, **config)


def test_it_passes_a_dns_record_with_the_expected_value(dns_server):
    assert dns(dns_server, "shop.example.test", expected="203.0.113.8").ok
    assert dns(dns_server, "shop.example.test", record_type="MX", expected="mail.example.test").ok
    assert dns(dns_server, "shop.example.test", record_type="TXT", expected="v=spf1 -all").ok


def test_it_fails_a_dns_record_with_another_value(dns_server):
    result = dns(dns_server, "shop.example.test", expected="198.51.100.1")
    assert not result.ok
    assert "shop.example.test A is 203.0.113.7, 203.0.113.8, not 198.51.100.1" in result.error


def test_it_fails_a_name_that_does_not_exist_or_has_no_record(dns_server):
    assert "does not exist (NXDOMAIN)" in dns(dns_server, "gone.example.test").error
    assert "has no A record" in dns(dns_server, "empty.example.test").error


def test_it_fails_when_the_name_server_does_not_answer():
    result = check("dns", "shop.example.test", timeout=0.5, nameserver="127.0.0.1", port=free_port())
    assert not result.ok


def test_it_refuses_a_private_name_server_by_default(settings, dns_server):
    settings.ALLOW_PRIVATE_TARGETS = False
    result = dns(dns_server, "shop.example.test")
    assert not result.ok and "KEEPWELL_ALLOW_PRIVATE_TARGETS" in result.error


@pytest.fixture
def ca(tmp_path):
    authority = trustme.CA()
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    authority.file = str(path)
    return authority


def tls_port(cert):
    return TlsPort(cert)


def test_it_passes_a_valid_certificate_far_from_expiry(ca):
    port = tls_port(ca.issue_cert("localhost", not_after=datetime.now(UTC) + timedelta(days=90)))
    try:
        result = check("tls", f"localhost:{port.port}", cafile=ca.file, days_before_expiry=14)
    finally:
        port.close()
    assert result.ok, result.error


def test_it_fails_a_certificate_close_to_expiry(ca):
    port = tls_port(ca.issue_cert("localhost", not_after=datetime.now(UTC) + timedelta(days=5)))
    try:
        result = check("tls", f"localhost:{port.port}", cafile=ca.file, days_before_expiry=14)
    finally:
        port.close()
    assert not result.ok
    assert "expires in 4.9 days" in result.error or "expires in 5.0 days" in result.error


def test_it_fails_an_expired_certificate(ca):
    cert = ca.issue_cert(
        "localhost",
        not_before=datetime.now(UTC) - timedelta(days=30),
        not_after=datetime.now(UTC) - timedelta(days=2),
    )
    port = tls_port(cert)
    try:
        result = check("tls", f"localhost:{port.port}", cafile=ca.file)
    finally:
        port.close()
    assert not result.ok and "expired" in result.error


def test_it_fails_a_certificate_for_another_host_name(ca):
    port = tls_port(ca.issue_cert("shop.example.org"))
    try:
        result = check("tls", f"localhost:{port.port}", cafile=ca.file)
        unchecked = check("tls", f"localhost:{port.port}", cafile=ca.file, check_hostname=False)
    finally:
        port.close()
    assert not result.ok and "does not name localhost" in result.error
    assert unchecked.ok, unchecked.error


def test_it_fails_a_certificate_from_an_unknown_authority(ca):
    port = tls_port(ca.issue_cert("localhost"))
    try:
        result = check("tls", f"localhost:{port.port}")
        unchecked = check("tls", f"localhost:{port.port}", check_chain=False)
        wrong_name = check("tls", f"127.0.0.1:{port.port}", check_chain=False)
    finally:
        port.close()
    assert not result.ok and "chain is not valid" in result.error
    assert unchecked.ok, unchecked.error
    assert not wrong_name.ok and "does not name 127.0.0.1" in wrong_name.error
