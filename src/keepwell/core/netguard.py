"""Refuse outbound requests to loopback, private, link-local and reserved addresses (SSRF protection).

A user who may configure a webhook, a monitor or an Apprise URL must not be able to make keepwell reach
into the network it runs in (the cloud metadata service at 169.254.169.254, a database on 10.0.0.5, the
admin page on localhost). Host names are resolved and every address checked; `pinned_post` then connects
to the checked address itself, so a second DNS answer (DNS rebinding) cannot redirect the request.

settings.ALLOW_PRIVATE_TARGETS (KEEPWELL_ALLOW_PRIVATE_TARGETS=1) lifts the restriction, for installs
whose webhooks live on the local network.
"""

import ipaddress
import socket
from urllib.parse import unquote, urlsplit, urlunsplit

from django.conf import settings


class BlockedTarget(ValueError):
    """The URL points at an address keepwell refuses to reach, or cannot be resolved."""


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 and 64:ff9b::7f00:1 carry an IPv4 address inside.
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def check_host(host: str, port: int | None = None) -> list[str]:
    """Return the addresses `host` resolves to; raise BlockedTarget when any of them is not public."""
    host = (host or "").strip("[]")
    if not host:
        raise BlockedTarget(
            "The URL has no host name. Use a full URL such as https://hooks.example.com/path."
        )
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BlockedTarget(f"The host {host!r} cannot be resolved ({exc}). Check the spelling.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if settings.ALLOW_PRIVATE_TARGETS:
        return addresses
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if _forbidden(ip):
            raise BlockedTarget(
                f"{host} resolves to {address}, a loopback, private, link-local or reserved address; keepwell "
                "does not send requests there. Use a public address, or set KEEPWELL_ALLOW_PRIVATE_TARGETS=1 "
                "if this install should reach its own network."
            )
    return addresses


def check_url(url: str) -> list[str]:
    """Refuse `url` unless it is http(s) and its host resolves only to public addresses; return them."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BlockedTarget(f"The URL is not valid ({exc}).") from None
    if parts.scheme not in ("http", "https"):
        raise BlockedTarget(f"Only http and https URLs are allowed, not {parts.scheme or 'none'!r}.")
    return check_host(parts.hostname or "", port or (443 if parts.scheme == "https" else 80))


def pinned_post(client, url: str, **kwargs):
    """POST to `url` through httpx `client`, connecting only to the addresses that check_url approved."""
    import httpx

    addresses = check_url(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    headers = {**kwargs.pop("headers", {}), "Host": parts.netloc.rsplit("@", 1)[-1]}
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    if parts.username:
        kwargs.setdefault("auth", (unquote(parts.username), unquote(parts.password or "")))
    for i, address in enumerate(addresses):
        netloc = f"[{address}]" if ":" in address else address
        if parts.port:
            netloc += f":{parts.port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        try:
            return client.post(pinned, headers=headers, extensions=extensions, **kwargs)
        except httpx.ConnectError:
            if i == len(addresses) - 1:
                raise
