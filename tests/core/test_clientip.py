"""The client address behind reverse proxies: only a trusted peer's X-Forwarded-For is read, from the right."""

import ipaddress
import time

import pytest

from keepwell.core.clientip import MAX_HOPS, client_address, from_scope, is_trusted, parse_networks

PROXIES = parse_networks("10.0.0.0/8, 192.168.1.1, fd00::/8, ::1")


def test_it_parses_addresses_and_ranges_separated_by_commas():
    assert parse_networks(" 10.0.0.0/8 ,, ::1 ,192.168.1.1") == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("192.168.1.1/32"),
    )
    assert parse_networks("") == ()
    # A range written with its host bits set means the range.
    assert parse_networks("10.1.2.3/8") == (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize("value", ["proxy.internal", "10.0.0.0/33", "10.0.0.1 10.0.0.2", "300.1.1.1"])
def test_it_refuses_what_is_not_an_address_or_a_range_saying_which_and_how_to_write_it(value):
    with pytest.raises(ValueError) as exc:
        parse_networks(f"127.0.0.1,{value}")
    assert repr(value) in str(exc.value)
    assert "10.0.0.0/8" in str(exc.value)


def test_with_no_trusted_proxy_the_peer_is_the_client_whatever_the_header_says():
    assert client_address("10.0.0.2", "198.51.100.7", ()) == "10.0.0.2"


def test_an_untrusted_peer_s_header_is_never_believed():
    assert client_address("203.0.113.5", "198.51.100.7", PROXIES) == "203.0.113.5"
    assert client_address("203.0.113.5", "10.0.0.9", PROXIES) == "203.0.113.5"


def test_behind_a_trusted_proxy_the_client_is_the_address_it_forwarded():
    assert client_address("10.0.0.2", "198.51.100.7", PROXIES) == "198.51.100.7"
    assert client_address("192.168.1.1", " 198.51.100.7 ", PROXIES) == "198.51.100.7"


def test_without_a_header_a_trusted_peer_is_the_client():
    assert client_address("10.0.0.2", None, PROXIES) == "10.0.0.2"
    assert client_address("10.0.0.2", "", PROXIES) == "10.0.0.2"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right_to_the_first_untrusted_address():
    assert client_address("10.0.0.2", "198.51.100.7, 192.168.1.1, 10.0.0.3", PROXIES) == "198.51.100.7"


def test_addresses_the_client_wrote_left_of_its_own_are_ignored():
    # The client sent "X-Forwarded-For: 1.1.1.1, 10.0.0.7"; the proxy appended the address it saw.
    assert client_address("10.0.0.2", "1.1.1.1, 10.0.0.7, 198.51.100.7", PROXIES) == "198.51.100.7"


def test_when_every_hop_is_trusted_the_request_started_at_the_farthest_proxy():
    assert client_address("10.0.0.2", "10.0.0.5, 10.0.0.4", PROXIES) == "10.0.0.5"


def test_ipv6_peers_and_clients():
    assert client_address("::1", "2001:db8::7", PROXIES) == "2001:db8::7"
    assert client_address("fd00::2", "2001:DB8:0:0::7, fd00::3", PROXIES) == "2001:db8::7"
    assert client_address("2001:db8::99", "198.51.100.7", PROXIES) == "2001:db8::99"


def test_an_ipv4_peer_on_a_dual_stack_socket_is_matched_as_ipv4():
    assert is_trusted("::ffff:10.0.0.2", PROXIES)
    assert client_address("::ffff:10.0.0.2", "198.51.100.7", PROXIES) == "198.51.100.7"
    assert not is_trusted("::ffff:203.0.113.5", PROXIES)


def test_ports_and_ipv6_zones_are_dropped():
    assert client_address("10.0.0.2", "198.51.100.7:4711", PROXIES) == "198.51.100.7"
    assert client_address("10.0.0.2", "[2001:db8::7]:4711", PROXIES) == "2001:db8::7"
    assert client_address("10.0.0.2", "[2001:db8::7]", PROXIES) == "2001:db8::7"
    assert client_address("10.0.0.2", "fe80::1%eth0", PROXIES) == "fe80::1"


@pytest.mark.parametrize(
    "header",
    [
        "not-an-address",
        "unknown",
        "198.51.100.7,",
        " , ",
        "198.51.100.7, garbage",
        "198.51.100.7:http",
        "[2001:db8::7",
        "[2001:db8::7]x",
        "[2001:db8::7]:",
        "010.0.0.1",  # leading zeros: octal to some parsers, decimal to others
        "198.51.100.7\x00",
        "１９８.５１.１００.７",  # full-width digits
        "<script>alert(1)</script>",
        "198.51.100.7; DROP TABLE",
    ],
)
def test_a_malformed_header_gives_the_peer(header):
    assert client_address("10.0.0.2", header, PROXIES) == "10.0.0.2"


def test_junk_left_of_the_client_s_address_does_not_matter():
    assert client_address("10.0.0.2", "garbage, <script>, , 198.51.100.7", PROXIES) == "198.51.100.7"


def test_a_huge_header_is_read_only_at_its_right_end():
    header = "garbage," * 2_000_000 + "198.51.100.7, 10.0.0.3"
    started = time.perf_counter()
    assert client_address("10.0.0.2", header, PROXIES) == "198.51.100.7"
    # Parsing two million entries takes seconds; reading the right end takes a copy of the string.
    assert time.perf_counter() - started < 1.0


def test_more_trusted_hops_than_max_hops_are_not_believed():
    assert client_address("10.0.0.2", ", ".join(["10.0.0.9"] * MAX_HOPS), PROXIES) == "10.0.0.9"
    assert client_address("10.0.0.2", ", ".join(["10.0.0.9"] * (MAX_HOPS + 1)), PROXIES) == "10.0.0.2"
    header = "198.51.100.7, " + ", ".join(["10.0.0.9"] * MAX_HOPS)
    assert client_address("10.0.0.2", header, PROXIES) == "10.0.0.2"


@pytest.mark.parametrize("peer", [None, "", "unix:/run/keepwell.sock", "testclient"])
def test_a_peer_that_is_not_an_address_is_never_trusted(peer):
    assert not is_trusted(peer, PROXIES)
    assert client_address(peer, "198.51.100.7", PROXIES) == peer


def scope(client, *forwarded):
    return {
        "type": "http",
        "client": client,
        "headers": [(b"host", b"keepwell")] + [(b"x-forwarded-for", value) for value in forwarded],
    }


def test_in_an_asgi_scope_repeated_headers_are_one_list(settings):
    settings.TRUSTED_PROXIES = PROXIES
    assert from_scope(scope(("10.0.0.2", 5000), b"1.1.1.1", b"198.51.100.7")) == "198.51.100.7"
    assert from_scope(scope(("203.0.113.5", 5000), b"198.51.100.7")) == "203.0.113.5"
    assert from_scope(scope(None, b"198.51.100.7")) is None
    settings.TRUSTED_PROXIES = ()
    assert from_scope(scope(("10.0.0.2", 5000), b"198.51.100.7")) == "10.0.0.2"
