"""Observe an HTTPS URL for the posture grade: TLS versions offered, the certificate, and the response headers.

Every connection goes to an address that keepwell.core.netguard approved (loopback and private networks
are refused unless KEEPWELL_ALLOW_PRIVATE_TARGETS=1), pinned for the whole probe so a second DNS answer
cannot redirect it.
"""

import socket
import ssl
import warnings
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

from keepwell.core.netguard import BlockedTarget, check_host

from .posture import Observation

VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
MAX_HEADER_BYTES = 64_000
MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}


def split_https(url: str) -> tuple[str, int]:
    """Return (host, port) of an https URL; raise ValueError naming what is wrong."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or 443
    except ValueError as exc:
        raise ValueError(f"{url[:200]!r} is not a valid URL ({exc}).") from None
    if parts.scheme != "https":
        raise ValueError(f"Only https URLs have a web posture to grade, not {url[:200]!r}.")
    if not parts.hostname:
        raise ValueError(f"{url[:200]!r} has no host name.")
    return parts.hostname, port


def _pinned_context(version: ssl.TLSVersion) -> ssl.SSLContext:
    """Return a context that speaks only `version` and accepts any certificate (we only ask what is offered)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # Old versions need old ciphers and signatures, which OpenSSL's default security level refuses.
    context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        # Asking for TLS 1.0 and 1.1 is the point: Python deprecates choosing them.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = version
    return context


def _connect(address: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((address, port), timeout=timeout)


def offered(address: str, port: int, host: str, version: str, timeout: float) -> bool:
    """Return True when the server completes a handshake pinned to `version`."""
    try:
        context = _pinned_context(VERSIONS[version])
    except (ValueError, ssl.SSLError):
        return False  # this machine's OpenSSL cannot speak it at all
    try:
        with _connect(address, port, timeout) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                return tls.version() == version
    except (ssl.SSLError, ConnectionError, TimeoutError, OSError):
        return False


def certificate(address: str, port: int, host: str, timeout: float, cafile: str | None):
    """Return (DER certificate or None, "" or why the chain or host name does not verify)."""
    context = ssl.create_default_context(cafile=cafile)
    try:
        with _connect(address, port, timeout) as raw, context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert(binary_form=True), ""
    except ssl.SSLCertVerificationError as exc:
        error = exc.verify_message or str(exc)
    except ssl.SSLError:
        error = ""
    loose = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    loose.check_hostname, loose.verify_mode = False, ssl.CERT_NONE
    loose.set_ciphers("ALL:@SECLEVEL=0")
    loose.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with _connect(address, port, timeout) as raw, loose.wrap_socket(raw, server_hostname=host) as tls:
        return tls.getpeercert(binary_form=True), error or "the handshake failed with strict settings"


def not_after(der: bytes | None) -> datetime | None:
    if not der:
        return None
    from cryptography import x509

    return x509.load_der_x509_certificate(der).not_valid_after_utc


def fetch_headers(
    url: str, address: str, host: str, timeout: float, verify
) -> tuple[int, dict[str, list[str]]]:
    """GET `url` from `address` (no redirects followed); return the status and the headers, names lower-cased."""
    import httpx

    parts = urlsplit(url)
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    pinned = urlunsplit(("https", netloc, parts.path or "/", parts.query, ""))
    with httpx.Client(verify=verify, timeout=timeout, follow_redirects=False) as client:
        with client.stream(
            "GET",
            pinned,
            headers={"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": "keepwell-posture/1"},
            extensions={"sni_hostname": host},
        ) as response:
            headers: dict[str, list[str]] = {}
            size = 0
            for name, value in response.headers.multi_items():
                size += len(name) + len(value)
                if size > MAX_HEADER_BYTES:
                    break
                headers.setdefault(name.lower(), []).append(value)
            return response.status_code, headers


def observe(
    url: str, *, timeout: float = 10, cafile: str | None = None, now: datetime | None = None
) -> Observation:
    """Probe `url` and return what was seen; a refused or unreachable URL gives an Observation with `error`."""
    now = now or datetime.now(UTC)
    obs = Observation(url=url, now=now)
    try:
        host, port = split_https(url)
        addresses = check_host(host, port)
    except (ValueError, BlockedTarget) as exc:
        obs.error = str(exc)
        return obs
    address = addresses[0]
    try:
        der, obs.cert_error = certificate(address, port, host, timeout, cafile)
    except (OSError, ssl.SSLError) as exc:
        obs.error = f"Could not open a TLS connection to {host}:{port} ({exc.__class__.__name__}: {exc})."
        return obs
    obs.cert_not_after = not_after(der)
    obs.tls_versions = {name: offered(address, port, host, name, timeout) for name in VERSIONS}
    verify: ssl.SSLContext | bool = False
    if not obs.cert_error:
        verify = ssl.create_default_context(cafile=cafile)
    try:
        _follow(obs, url, address, host, port, timeout, verify)
    except Exception as exc:  # noqa: BLE001  any HTTP failure is reported on the grade, never raised
        obs.error = f"The TLS handshake worked but the HTTP request failed ({exc.__class__.__name__}: {exc})."
    return obs


def _follow(obs: Observation, url: str, address: str, host: str, port: int, timeout: float, verify) -> None:
    """GET `url`, following up to MAX_REDIRECTS https redirects (each target guarded); grade the last answer."""
    cookies: list[str] = []
    for _hop in range(MAX_REDIRECTS + 1):
        obs.status_code, headers = fetch_headers(url, address, host, timeout, verify)
        cookies += headers.get("set-cookie", [])
        obs.headers, obs.final_url = headers, url
        location = (headers.get("location") or [""])[0]
        if obs.status_code not in REDIRECTS or not location:
            break
        target = urljoin(url, location.strip())
        if not target.startswith("https://"):
            obs.redirect_to_http = target[:500]
            break
        try:
            next_host, next_port = split_https(target)
            if (next_host, next_port) != (host, port):
                address = check_host(next_host, next_port)[0]
                host, port = next_host, next_port
        except (ValueError, BlockedTarget):
            break  # graded as it stands: the redirect leads where keepwell does not go
        url = target
    if cookies:
        obs.headers = {**obs.headers, "set-cookie": cookies}  # cookies set anywhere on the way count
