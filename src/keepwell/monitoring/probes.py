"""Uptime checks: validate a monitor's settings and run one check (pure asyncio, no Django here).

    target, config = validate("http", "https://shop.example.com/health", {"keyword": "ok"})
    result = await run_check("http", target, config, timeout=10)   # ProbeResult(ok, latency_ms, ...)

Every address a check connects to first passes `guard` (by default core.netguard.check_host, which refuses
loopback, private and link-local addresses unless KEEPWELL_ALLOW_PRIVATE_TARGETS=1); the check then connects
to the approved address itself, so a second DNS answer cannot redirect it.
"""

import asyncio
import ipaddress
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import probes_http, probes_net

KINDS = ("http", "tcp", "dns", "tls")
MAX_TARGET = 2000
MAX_CONFIG = 100_000
Guard = Callable[[str, int | None], list[str]]


@dataclass
class ProbeResult:
    ok: bool
    latency_ms: int | None = None
    status_code: int | None = None
    error: str = ""


def default_guard(host: str, port: int | None = None) -> list[str]:
    """Return the approved addresses of `host` (core.netguard; it reads the Django settings when called)."""
    from keepwell.core.netguard import check_host

    return check_host(host, port)


def validate(kind: str, target: str, config: dict | None) -> tuple[str, dict]:
    """Return the cleaned (target, config) of a monitor; raise ValueError with a clear message."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not isinstance(target, str) or not target.strip():
        raise ValueError("target is empty: give a URL (http), host:port (tcp, tls) or a domain name (dns)")
    target = target.strip()
    if len(target) > MAX_TARGET or "\x00" in target or any(c in target for c in "\r\n\t "):
        raise ValueError(
            f"target must be at most {MAX_TARGET} characters, without spaces or control characters"
        )
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ValueError("config must be a JSON object")
    try:
        encoded = json.dumps(config)
    except (TypeError, ValueError, RecursionError):
        raise ValueError("config must be plain JSON") from None
    if len(encoded) > MAX_CONFIG:
        raise ValueError(f"config must be at most {MAX_CONFIG // 1000} KB of JSON")
    if "\\u0000" in encoded:
        raise ValueError("config must not contain NUL characters")
    if kind == "http":
        return probes_http.validate(target, config)
    if kind == "tcp":
        return probes_net.validate_tcp(target, config)
    if kind == "dns":
        return probes_net.validate_dns(target, config)
    return probes_net.validate_tls(target, config)


REDACTED = "••••••••"
_SECRET_HEADER_WORDS = ("authorization", "cookie", "token", "secret", "key", "password", "auth", "signature")


def is_secret_header(name: str) -> bool:
    """Return True when a request header's value is likely a credential (never shown back in full)."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_HEADER_WORDS)


def redact(config: dict) -> dict:
    """Return `config` with the values of secret-looking headers replaced by REDACTED, for display."""
    headers = config.get("headers") if isinstance(config, dict) else None
    if not isinstance(headers, dict):
        return dict(config) if isinstance(config, dict) else {}
    shown = {k: (REDACTED if is_secret_header(k) else v) for k, v in headers.items()}
    return {**config, "headers": shown}


def unredact(new: dict, old: dict) -> dict:
    """Return `new` with header values still REDACTED taken back from `old` (a client echoing what it read)."""
    headers = new.get("headers") if isinstance(new, dict) else None
    old_headers = old.get("headers") if isinstance(old, dict) else None
    if not isinstance(headers, dict) or not isinstance(old_headers, dict):
        return new
    kept = {k: (old_headers.get(k, v) if v == REDACTED else v) for k, v in headers.items()}
    return {**new, "headers": kept}


def host_of(kind: str, target: str) -> str:
    """Return the host name or address a (validated) monitor connects to."""
    if kind == "http":
        return probes_http.split_url(target)[1]
    if kind == "dns":
        return target
    return probes_net.split_host_port(target, 443)[0]


def is_literal_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost")
    return True


async def run_check(
    kind: str,
    target: str,
    config: dict,
    timeout: float,
    *,
    guard: Guard | None = None,
    client=None,
    cafile: str | None = None,
) -> ProbeResult:
    """Run one check and return its result; never raises for a failing target.

    `client` (an httpx.AsyncClient) lets a prober share connections among HTTP checks; `cafile` adds a CA to
    trust for HTTPS and TLS checks (the system's CAs are trusted too).
    """
    guard = guard or default_guard
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            if kind == "http":
                outcome = await probes_http.check(target, config, guard, client=client, cafile=cafile)
            elif kind == "tcp":
                outcome = await probes_net.check_tcp(target, config, guard)
            elif kind == "dns":
                outcome = await probes_net.check_dns(target, config, guard, timeout)
            elif kind == "tls":
                outcome = await probes_net.check_tls(target, config, guard, cafile=cafile)
            else:
                return ProbeResult(False, error=f"Unknown kind of check {kind!r}.")
    except TimeoutError:
        return ProbeResult(False, _elapsed(started), error=f"No answer within the timeout of {timeout:g} s.")
    except probes_net.CheckFailed as exc:
        latency = exc.latency_ms if exc.latency_ms is not None else _elapsed(started)
        return ProbeResult(False, latency, exc.status_code, str(exc)[:500])
    except ValueError as exc:  # netguard.BlockedTarget and bad settings stored before validation existed
        return ProbeResult(False, None, error=str(exc)[:500])
    except OSError as exc:
        return ProbeResult(False, _elapsed(started), error=probes_net.describe_os_error(exc)[:500])
    latency = outcome.latency_ms if outcome.latency_ms is not None else _elapsed(started)
    return ProbeResult(True, latency, outcome.status_code, "")


def _elapsed(started: float) -> int:
    return max(0, round((time.perf_counter() - started) * 1000))
