"""The address a request came from, when keepwell runs behind reverse proxies (KEEPWELL_TRUSTED_PROXIES).

The connection's peer is the client unless the peer is a trusted proxy: then the client is the nearest address
in X-Forwarded-For, read from the right (each proxy appends the address it saw), that is not itself a trusted
proxy. Everything to its left was written by the client and is never believed. The pure logic
(`parse_networks`, `client_address`, `is_trusted`) imports nothing from Django, so the ASGI fast paths and the
settings module use it too; `from_request` and `from_scope` read the setting.
"""

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Proxies a request may pass through before keepwell; a longer chain of trusted hops is not believed.
MAX_HOPS = 20


def parse_networks(value: str) -> tuple[Network, ...]:
    """Return the networks of a comma-separated list of IP addresses and CIDR ranges; raise ValueError."""
    networks = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or a network; write addresses and CIDR ranges separated by "
                "commas, e.g. 127.0.0.1,10.0.0.0/8,fd00::/8."
            ) from None
    return tuple(networks)


def _address(value: str) -> Address | None:
    """Return the IP address in one X-Forwarded-For entry (a port and an IPv6 zone are dropped), or None."""
    value = value.strip()
    if value.startswith("["):  # [2001:db8::1] or [2001:db8::1]:443
        end = value.find("]")
        if end == -1 or value[end + 1 :] and not (value[end + 1] == ":" and value[end + 2 :].isdigit()):
            return None
        value = value[1:end]
    elif value.count(":") == 1:  # 192.0.2.1:443
        value, _, port = value.partition(":")
        if not port.isdigit():
            return None
    value = value.partition("%")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _in(address: Address, trusted: Iterable[Network]) -> bool:
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: compare them as the IPv4 address they are.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in trusted)


def is_trusted(peer: str | None, trusted: Sequence[Network]) -> bool:
    """Return True when the address `peer` is in one of the `trusted` networks."""
    if not peer or not trusted:
        return False
    address = _address(peer)
    return address is not None and _in(address, trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str | None:
    """Return the client's address: `peer`, or behind trusted proxies the nearest untrusted X-Forwarded-For one.

    A header that is missing, malformed anywhere right of that address, or longer than MAX_HOPS trusted hops
    gives `peer`: the request is then attributed to the proxy, never to an address the client made up.
    """
    if not forwarded_for or not is_trusted(peer, trusted):
        return peer
    # rsplit with a limit reads only the right end of a huge header; the left part is the client's own writing.
    entries = forwarded_for.rsplit(",", MAX_HOPS)
    leftmost = len(entries) <= MAX_HOPS  # the whole header was split: its first entry is the leftmost
    for entry in reversed(entries[1:] if not leftmost else entries):
        address = _address(entry)
        if address is None:
            return peer
        if not _in(address, trusted):
            return str(address)
    if leftmost:
        # Every hop is a trusted proxy: the request started at one of them (a health check, a job).
        return str(_address(entries[0]))
    return peer


def trusted_proxies() -> Sequence[Network]:
    """Return KEEPWELL_TRUSTED_PROXIES from Django's settings (parsed by keepwell.settings)."""
    from django.conf import settings

    return getattr(settings, "TRUSTED_PROXIES", ())


def from_request(request) -> str | None:
    """Return the client address of a Django request (None without a request)."""
    if request is None:
        return None
    meta = request.META
    return client_address(meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR"), trusted_proxies())


def from_scope(scope: dict) -> str | None:
    """Return the client address of an ASGI HTTP scope."""
    client = scope.get("client")
    peer = client[0] if client else None
    trusted = trusted_proxies()
    if not is_trusted(peer, trusted):
        return peer
    # Repeated X-Forwarded-For headers are one list, in order (as Django joins them into META).
    values = [
        value.decode("latin-1") for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"
    ]
    return client_address(peer, ",".join(values), trusted)
