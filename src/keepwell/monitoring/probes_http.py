"""HTTP(S) checks: status codes, keywords, a JSON-path assertion, redirects, response time (see probes.py)."""

import json
import re
import time
from urllib.parse import urljoin, urlsplit, urlunsplit

from .probes_net import CheckFailed, Outcome, _bool, _check_host, _int, _no_unknown, describe_os_error

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
OPTIONS = {
    "method",
    "headers",
    "body",
    "expected_statuses",
    "keyword",
    "keyword_absent",
    "json_path",
    "json_expected",
    "follow_redirects",
    "max_response_ms",
}
MAX_BODY_READ = 1_000_000  # bytes of a response searched for keywords and parsed as JSON
MAX_REDIRECTS = 10
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
STATUS_RANGE = re.compile(r"^([1-5])xx$|^([1-5][0-9]{2})-([1-5][0-9]{2})$")
PATH_TOKEN = re.compile(r"""\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d{1,6})\]|\[(?:"([^"\]]*)"|'([^'\]]*)')\]""")
MAX_PATH = 200


def split_url(url: str) -> tuple[str, str, int]:
    """Return (scheme, host, port) of an http(s) URL; raise ValueError with a clear message."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{url!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"the URL must start with http:// or https://, not {url[:40]!r}")
    host = parts.hostname or ""
    _check_host(host)
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def parse_json_path(path: str) -> list[str | int]:
    """Parse `$.data[0].ok`, `data[0].ok` or `$["a key"]` into keys and indexes; raise ValueError."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("json_path is empty; write e.g. $.status or data[0].ok")
    if len(path) > MAX_PATH:
        raise ValueError(f"json_path must be at most {MAX_PATH} characters")
    text = path.strip()
    text = text[1:] if text.startswith("$") else text
    if text and not text.startswith((".", "[")):
        text = "." + text
    steps: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = PATH_TOKEN.match(text, pos)
        if match is None:
            raise ValueError(
                f"json_path {path!r} is not understood at {text[pos : pos + 20]!r}; use keys and indexes "
                "such as $.data[0].ok"
            )
        key, index, quoted, single = match.groups()
        steps.append(int(index) if index is not None else (key or quoted or single or ""))
        pos = match.end()
    return steps


_MISSING = object()


def follow_json_path(document, steps: list[str | int]):
    """Return the value at `steps` in a parsed JSON document, or _MISSING."""
    value = document
    for step in steps:
        if isinstance(step, int) and isinstance(value, list) and step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return _MISSING
    return value


def status_accepted(code: int, expected: list) -> bool:
    """Return True when `code` is one of `expected` (ints, "2xx" or "200-299"; empty means 200-399)."""
    if not expected:
        return 200 <= code < 400
    for entry in expected:
        if isinstance(entry, int):
            if code == entry:
                return True
            continue
        match = STATUS_RANGE.match(entry)
        if match.group(1) and code // 100 == int(match.group(1)):
            return True
        if match.group(2) and int(match.group(2)) <= code <= int(match.group(3)):
            return True
    return False


def validate(target: str, config: dict) -> tuple[str, dict]:
    _no_unknown(config, OPTIONS, "http")
    split_url(target)
    cleaned: dict = {}
    method = str(config.get("method", "GET")).upper()
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {config.get('method')!r}")
    cleaned["method"] = method
    headers = config.get("headers", {})
    if not isinstance(headers, dict) or len(headers) > 50:
        raise ValueError(
            'headers must be an object of at most 50 names and values, e.g. {"Accept": "text/html"}'
        )
    for name, value in headers.items():
        if not HEADER_NAME.match(name):
            raise ValueError(f"header name {name[:50]!r} is not valid")
        if not isinstance(value, str) or len(value) > 4000 or any(c in value for c in "\r\n\x00"):
            raise ValueError(f"header {name} must be text of at most 4000 characters on one line")
    if headers:
        cleaned["headers"] = dict(headers)
    body = config.get("body", "")
    if not isinstance(body, str) or len(body) > 65536:
        raise ValueError("body must be text of at most 64 KB")
    if body:
        cleaned["body"] = body
    expected = config.get("expected_statuses", [])
    if not isinstance(expected, list) or len(expected) > 50:
        raise ValueError('expected_statuses must be a list such as [200, 204] or ["2xx", "300-308"]')
    for entry in expected:
        ok = (isinstance(entry, int) and not isinstance(entry, bool) and 100 <= entry <= 599) or (
            isinstance(entry, str) and STATUS_RANGE.match(entry)
        )
        if not ok:
            raise ValueError(
                f"expected_statuses: {entry!r} is not a status code (100-599), '2xx' or '200-299'"
            )
    if expected:
        cleaned["expected_statuses"] = list(expected)
    for key in ("keyword", "keyword_absent"):
        value = config.get(key, "")
        if not isinstance(value, str) or len(value) > 500 or "\x00" in value:
            raise ValueError(f"{key} must be text of at most 500 characters")
        if value:
            cleaned[key] = value
    if config.get("json_path") not in (None, ""):
        parse_json_path(config["json_path"])
        cleaned["json_path"] = config["json_path"].strip()
        if "json_expected" in config:
            value = config["json_expected"]
            if isinstance(value, dict | list) or (isinstance(value, str) and len(value) > 500):
                raise ValueError("json_expected must be a string, number, true, false or null")
            cleaned["json_expected"] = value
    elif "json_expected" in config:
        raise ValueError("json_expected needs a json_path, e.g. $.status")
    cleaned["follow_redirects"] = _bool(config, "follow_redirects", True)
    max_ms = _int(config, "max_response_ms", 1, 600_000, None)
    if max_ms is not None:
        cleaned["max_response_ms"] = max_ms
    return target, cleaned


def _pinned(url: str, address: str) -> str:
    parts = urlsplit(url)
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


async def _send(client, method, url, headers, body, guard):
    """Send one request to the guarded address of the URL's host (no redirects) and return the response."""
    import asyncio

    import httpx

    scheme, host, port = split_url(url)
    addresses = await asyncio.to_thread(guard, host, port)
    netloc = urlsplit(url).netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    for i, address in enumerate(addresses):
        request = client.build_request(
            method,
            _pinned(url, address),
            headers={**headers, "Host": netloc},
            content=body.encode() if body else None,
            extensions=extensions,
        )
        try:
            return await client.send(request, stream=True)
        except httpx.ConnectError:
            if i == len(addresses) - 1:
                raise


async def _read_capped(response) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_READ:
            break
    return b"".join(chunks)[:MAX_BODY_READ]


async def check(target: str, config: dict, guard, *, client=None, cafile=None) -> Outcome:
    import httpx

    from .probes_net import tls_context

    own_client = client is None
    if own_client:
        client = httpx.AsyncClient(verify=tls_context(cafile), follow_redirects=False, trust_env=False)
    method = config.get("method", "GET")
    headers = {"User-Agent": "keepwell-monitor", **config.get("headers", {})}
    body = config.get("body", "")
    url = target
    started = time.perf_counter()
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                response = await _send(client, method, url, headers, body, guard)
            except httpx.ConnectError as exc:
                raise CheckFailed(_connect_message(exc)) from None
            except httpx.TransportError as exc:
                raise CheckFailed(f"The request failed: {exc or type(exc).__name__}.") from None
            try:
                location = response.headers.get("location")
                if response.is_redirect and location and config.get("follow_redirects", True):
                    url = urljoin(url, location)
                    if response.status_code in (301, 302, 303) and method != "HEAD":
                        method, body = "GET", ""
                    continue
                content = await _read_capped(response) if method != "HEAD" else b""
            except httpx.TransportError as exc:
                raise CheckFailed(f"The response broke off: {exc or type(exc).__name__}.") from None
            finally:
                await response.aclose()
            latency = round((time.perf_counter() - started) * 1000)
            _assert(response.status_code, content, config, latency)
            return Outcome(latency, response.status_code)
        raise CheckFailed(f"More than {MAX_REDIRECTS} redirects; the last went to {url[:200]}.")
    finally:
        if own_client:
            await client.aclose()


def _connect_message(exc) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return f"The TLS certificate is not valid: {text}."
    cause, depth = exc, 0
    while cause is not None and depth < 10:
        if isinstance(cause, OSError) and cause.errno is not None:
            return describe_os_error(cause)
        cause, depth = cause.__cause__ or cause.__context__, depth + 1
    return f"Could not connect: {text or type(exc).__name__}."


def _assert(code: int, content: bytes, config: dict, latency: int) -> None:
    """Raise CheckFailed unless the response is what the monitor expects."""
    if not status_accepted(code, config.get("expected_statuses", [])):
        wanted = ", ".join(map(str, config.get("expected_statuses", []))) or "200-399"
        raise CheckFailed(f"HTTP {code}, expected {wanted}.", code, latency)
    text = content.decode("utf-8", errors="replace")
    keyword = config.get("keyword")
    if keyword and keyword not in text:
        raise CheckFailed(f"The response does not contain {keyword!r}.", code, latency)
    absent = config.get("keyword_absent")
    if absent and absent in text:
        raise CheckFailed(f"The response contains {absent!r}.", code, latency)
    path = config.get("json_path")
    if path:
        try:
            document = json.loads(content)
        except (ValueError, RecursionError):
            raise CheckFailed(f"The response is not JSON, so {path} cannot be read.", code, latency) from None
        value = follow_json_path(document, parse_json_path(path))
        if value is _MISSING:
            raise CheckFailed(f"The response JSON has no {path}.", code, latency)
        if "json_expected" in config:
            expected = config["json_expected"]
            if value != expected and not (isinstance(expected, str) and _as_text(value) == expected):
                raise CheckFailed(f"{path} is {_as_text(value)[:100]}, expected {expected!r}.", code, latency)
        elif not value:
            raise CheckFailed(f"{path} is {_as_text(value)[:100]}, expected a true value.", code, latency)
    maximum = config.get("max_response_ms")
    if maximum and latency > maximum:
        raise CheckFailed(
            f"The response took {latency} ms, more than the {maximum} ms allowed.", code, latency
        )


def _as_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)
