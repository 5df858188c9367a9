"""TCP port, DNS record and TLS certificate checks (pure asyncio; see probes.py)."""

import asyncio
import errno
import ipaddress
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime

DNS_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "CAA", "PTR", "SOA")


class CheckFailed(Exception):
    """The target answered, but not as the monitor expects (the message says how)."""

    def __init__(self, message: str, status_code: int | None = None, latency_ms: int | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.latency_ms = latency_ms


@dataclass
class Outcome:
    latency_ms: int | None = None
    status_code: int | None = None


def describe_os_error(exc: OSError) -> str:
    """Return a plain sentence for a connection error."""
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return "Connection refused: nothing listens on that port."
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {getattr(exc, 'verify_message', None) or exc.reason or exc}."
    return f"Could not connect: {exc.strerror or exc}."


def split_host_port(target: str, default_port: int | None) -> tuple[str, int]:
    """Split `host:port` or `[v6]:port`; raise ValueError with a clear message."""
    host, port = target, None
    if target.startswith("["):
        close = target.find("]")
        if close < 0:
            raise ValueError(f"{target!r}: an IPv6 address needs a closing bracket, e.g. [2001:db8::1]:443")
        host, rest = target[1:close], target[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{target!r}: write [address]:port")
            port = rest[1:]
    elif target.count(":") == 1:
        host, port = target.split(":")
    elif target.count(":") > 1:
        raise ValueError(f"{target!r}: put an IPv6 address in brackets, e.g. [2001:db8::1]:443")
    if port is None:
        if default_port is None:
            raise ValueError(f"{target!r} has no port: write host:port, e.g. db.example.com:5432")
        port = default_port
    elif not str(port).isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{target!r}: the port must be a number from 1 to 65535")
    _check_host(host)
    return host, int(port)


def _check_host(host: str) -> None:
    if not host:
        raise ValueError("the host name is empty")
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    try:
        encoded = host.rstrip(".").encode("idna").decode()
    except UnicodeError:
        raise ValueError(f"{host!r} is not a valid host name") from None
    labels = encoded.split(".")
    if len(encoded) > 253 or any(not label or len(label) > 63 for label in labels):
        raise ValueError(f"{host!r} is not a valid host name")
    if any(not all(c.isalnum() or c in "-_" for c in label) for label in labels):
        raise ValueError(f"{host!r} is not a valid host name (letters, digits, '-' and '.' only)")


def _no_unknown(config: dict, known: set[str], kind: str) -> None:
    unknown = sorted(set(config) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise ValueError(f"unknown option {', '.join(unknown)} for a {kind} check (allowed: {allowed})")


def _int(config: dict, key: str, low: int, high: int, default: int | None) -> int | None:
    value = config.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{key} must be a whole number from {low} to {high}")
    return value


def _bool(config: dict, key: str, default: bool) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


# --- TCP -----------------------------------------------------------------------------------------------


def validate_tcp(target: str, config: dict) -> tuple[str, dict]:
    _no_unknown(config, set(), "tcp")
    host, port = split_host_port(target, None)
    return _join(host, port), {}


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _connect(host: str, port: int, guard, **kwargs):
    """Open a connection to the first approved address of `host` that answers."""
    addresses = await asyncio.to_thread(guard, host, port)
    last: OSError | None = None
    for address in addresses:
        try:
            return await asyncio.open_connection(address, port, **kwargs)
        except ssl.SSLError:
            raise
        except OSError as exc:
            last = exc
    raise last or OSError(f"{host} has no address")


async def check_tcp(target: str, config: dict, guard) -> Outcome:
    host, port = split_host_port(target, None)
    started = time.perf_counter()
    _reader, writer = await _connect(host, port, guard)
    latency = round((time.perf_counter() - started) * 1000)
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return Outcome(latency)


# --- DNS -----------------------------------------------------------------------------------------------


def validate_dns(target: str, config: dict) -> tuple[str, dict]:
    _no_unknown(config, {"record_type", "expected", "nameserver", "port"}, "dns")
    _check_host(target)
    record_type = str(config.get("record_type", "A")).upper()
    if record_type not in DNS_TYPES:
        raise ValueError(f"record_type must be one of {', '.join(DNS_TYPES)}, not {config['record_type']!r}")
    cleaned: dict = {"record_type": record_type}
    expected = config.get("expected")
    if expected not in (None, ""):
        if not isinstance(expected, str) or len(expected) > 500 or "\x00" in expected:
            raise ValueError("expected must be text of at most 500 characters, e.g. 203.0.113.7")
        cleaned["expected"] = expected.strip()
    nameserver = config.get("nameserver")
    if nameserver not in (None, ""):
        try:
            cleaned["nameserver"] = str(ipaddress.ip_address(str(nameserver)))
        except ValueError:
            raise ValueError(f"nameserver must be an IP address, e.g. 9.9.9.9, not {nameserver!r}") from None
        cleaned["port"] = _int(config, "port", 1, 65535, 53)
    elif "port" in config:
        raise ValueError("port applies only with a nameserver")
    return target.rstrip(".") or target, cleaned


def _normalize(text: str) -> str:
    return text.strip().strip('"').rstrip(".").lower()


async def check_dns(target: str, config: dict, guard, timeout: float) -> Outcome:
    import dns.asyncresolver
    import dns.exception
    import dns.resolver

    record_type = config.get("record_type", "A")
    nameserver = config.get("nameserver")
    if nameserver:
        await asyncio.to_thread(guard, nameserver, config.get("port", 53))
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [nameserver]
        resolver.port = config.get("port", 53)
    else:
        resolver = dns.asyncresolver.Resolver()
    resolver.lifetime = resolver.timeout = timeout
    started = time.perf_counter()
    try:
        answer = await resolver.resolve(target, record_type, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        raise CheckFailed(f"{target} does not exist (NXDOMAIN).") from None
    except dns.resolver.NoNameservers as exc:
        raise CheckFailed(f"No name server answered for {target}: {exc}.") from None
    except dns.exception.Timeout:
        raise CheckFailed(f"The name server did not answer within {timeout:g} s.") from None
    except dns.exception.DNSException as exc:
        raise CheckFailed(f"DNS lookup failed: {exc}.") from None
    latency = round((time.perf_counter() - started) * 1000)
    values = [rdata.to_text() for rdata in answer.rrset] if answer.rrset is not None else []
    if not values:
        raise CheckFailed(f"{target} has no {record_type} record.", latency_ms=latency)
    expected = config.get("expected")
    if (
        expected
        and _normalize(expected) not in {_normalize(v) for v in values}
        and not any(_normalize(expected) == _normalize(v.split()[-1]) for v in values)
    ):
        shown = ", ".join(sorted(values)[:5])[:300]
        raise CheckFailed(f"{target} {record_type} is {shown}, not {expected}.", latency_ms=latency)
    return Outcome(latency)


# --- TLS certificate -----------------------------------------------------------------------------------


def validate_tls(target: str, config: dict) -> tuple[str, dict]:
    _no_unknown(config, {"days_before_expiry", "check_hostname", "check_chain"}, "tls")
    if "://" in target:
        raise ValueError("give host or host:port for a TLS check, e.g. shop.example.com:443, not a URL")
    host, port = split_host_port(target, 443)
    cleaned = {
        "days_before_expiry": _int(config, "days_before_expiry", 0, 3650, 14),
        "check_hostname": _bool(config, "check_hostname", True),
        "check_chain": _bool(config, "check_chain", True),
    }
    return _join(host, port), cleaned


def tls_context(cafile: str | None = None, *, check_chain: bool = True, check_hostname: bool = True):
    """Return a client context that trusts the system's CAs (and `cafile`)."""
    context = ssl.create_default_context()
    if cafile:
        context.load_verify_locations(cafile)
    context.check_hostname = check_hostname and check_chain
    if not check_chain:
        context.verify_mode = ssl.CERT_NONE
    return context


def days_left(der: bytes, now: datetime) -> float:
    """Return the days from `now` until the DER certificate expires (negative once expired)."""
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    return (cert.not_valid_after_utc - now).total_seconds() / 86400


def hostname_matches(der: bytes, host: str) -> bool:
    """Return True when the certificate names `host` (DNS or IP subject alternative names, wildcards)."""
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        ip = ipaddress.ip_address(host)
        return ip in names.get_values_for_type(x509.IPAddress)
    except ValueError:
        pass
    host = host.rstrip(".").lower()
    for name in names.get_values_for_type(x509.DNSName):
        name = name.lower()
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


async def check_tls(target: str, config: dict, guard, *, cafile: str | None = None) -> Outcome:
    host, port = split_host_port(target, 443)
    check_chain = config.get("check_chain", True)
    check_hostname = config.get("check_hostname", True)
    context = tls_context(cafile, check_chain=check_chain, check_hostname=check_hostname)
    started = time.perf_counter()
    try:
        reader, writer = await _connect(host, port, guard, ssl=context, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        message = exc.verify_message or str(exc)
        if "hostname" in message.lower() or "ip address mismatch" in message.lower():
            raise CheckFailed(f"The certificate does not name {host} ({message}).") from None
        raise CheckFailed(f"The certificate chain is not valid: {message}.") from None
    latency = round((time.perf_counter() - started) * 1000)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    if not der:
        raise CheckFailed("The server sent no certificate.", latency_ms=latency)
    if check_hostname and not check_chain and not hostname_matches(der, host):
        raise CheckFailed(f"The certificate does not name {host}.", latency_ms=latency)
    left = days_left(der, datetime.now(UTC))
    if left < 0:
        raise CheckFailed(f"The certificate expired {-left:.0f} days ago.", latency_ms=latency)
    minimum = config.get("days_before_expiry", 14)
    if left < minimum:
        raise CheckFailed(
            f"The certificate expires in {left:.1f} days, within the {minimum} days this monitor allows.",
            latency_ms=latency,
        )
    return Outcome(latency)
