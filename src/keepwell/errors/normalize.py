"""Turn a Sentry event payload (any JSON at all) into the compact event keepwell stores and shows.

The SDKs send far more than a person reads; hostile clients send anything. Every value is type-checked,
every string and list is cut to a limit, and what no page shows is dropped. Pure logic, no Django.
"""

import math
from datetime import UTC, datetime, timedelta

LEVELS = ("fatal", "error", "warning", "info", "debug")
MAX_TEXT = 1000  # characters of one value (a message, a header, a variable)
MAX_TITLE = 250
MAX_FRAMES = 100  # frames kept per stack trace: the innermost ones, where the error is
MAX_EXCEPTIONS = 10  # chained exceptions kept
MAX_CONTEXT_LINES = 7
MAX_BREADCRUMBS = 100
MAX_TAGS = 50
MAX_TAG_KEY = 32
MAX_TAG_VALUE = 200
MAX_ITEMS = 50  # keys of a mapping (headers, contexts, extra, variables)
MAX_DEPTH = 4  # nesting kept inside contexts, extra and request data
MAX_AGE = timedelta(days=30)  # an event's own timestamp is believed this far back


def text(value, limit: int = MAX_TEXT) -> str:
    """Return `value` as a string of at most `limit` characters, without NUL characters."""
    if value.__class__ is str and len(value) <= limit and "\x00" not in value:
        return value  # the common case, first
    if value is None:
        return ""
    if not isinstance(value, str):
        if isinstance(value, bool | int | float):
            value = str(value)
        else:
            return ""
    value = value.replace("\x00", "")
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _int(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    value = int(value)
    return value if -(2**31) < value < 2**31 else None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _values(value) -> list:
    """Return the list an interface holds: either `{"values": [...]}` or the list itself."""
    if isinstance(value, dict):
        return _list(value.get("values"))
    return _list(value)


def compact(value, depth: int = 0):
    """Return a copy of any JSON value cut to MAX_DEPTH levels, MAX_ITEMS entries and MAX_TEXT characters."""
    if isinstance(value, str):
        return text(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, dict):
        return {text(k, 100): compact(v, depth + 1) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, list):
        return [compact(v, depth + 1) for v in value[:MAX_ITEMS]]
    return None


def parse_timestamp(value) -> datetime | None:
    """Return the event's time from a UNIX number or an RFC 3339 string, or None."""
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            if not math.isfinite(value):
                return None
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str) and len(value) <= 40:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def frame(raw) -> dict | None:
    """Return one stack frame with what the page shows, or None when it is not a frame."""
    if not isinstance(raw, dict):
        return None
    out = {
        "filename": text(raw.get("filename") or raw.get("abs_path"), 300),
        "abs_path": text(raw.get("abs_path"), 300),
        "module": text(raw.get("module"), 200),
        "function": text(raw.get("function"), 200),
        "lineno": _int(raw.get("lineno")),
        "colno": _int(raw.get("colno")),
        "in_app": raw.get("in_app") is True,
        "pre_context": [text(x, 300) for x in _list(raw.get("pre_context"))[-MAX_CONTEXT_LINES:]],
        "context_line": text(raw.get("context_line"), 300),
        "post_context": [text(x, 300) for x in _list(raw.get("post_context"))[:MAX_CONTEXT_LINES]],
    }
    variables = raw.get("vars")
    if isinstance(variables, dict) and variables:
        out["vars"] = compact(variables, 1)
    return out


def stacktrace(raw) -> list[dict]:
    """Return the frames of a stack trace, outermost first as the SDKs send them, the innermost kept."""
    frames = [f for f in (frame(x) for x in _list(_dict(raw).get("frames"))[-MAX_FRAMES:]) if f]
    return frames


def exceptions(data: dict) -> list[dict]:
    """Return the event's exceptions, the one raised last (the most recent) last."""
    out = []
    for raw in _values(data.get("exception"))[-MAX_EXCEPTIONS:]:
        if not isinstance(raw, dict):
            continue
        mechanism = _dict(raw.get("mechanism"))
        out.append(
            {
                "type": text(raw.get("type"), 200),
                "value": text(raw.get("value")),
                "module": text(raw.get("module"), 200),
                "handled": mechanism.get("handled") if isinstance(mechanism.get("handled"), bool) else None,
                "mechanism": text(mechanism.get("type"), 50),
                # A stack trace the SDK attached to a message (@sentry/node does): not an exception.
                "synthetic": mechanism.get("synthetic") is True,
                "frames": stacktrace(raw.get("stacktrace")),
            }
        )
    if out and not any(e["frames"] for e in out):
        # Some SDKs put the trace of the crashing thread in `threads` instead.
        for thread in _values(data.get("threads")):
            if isinstance(thread, dict) and (thread.get("crashed") or thread.get("current")):
                out[-1]["frames"] = stacktrace(thread.get("stacktrace"))
                break
    return out


def message(data: dict) -> tuple[str, str]:
    """Return (template, formatted) of the event's log message; template is the unformatted form."""
    entry = data.get("logentry") or data.get("message")
    if isinstance(entry, str):
        return text(entry), text(entry)
    entry = _dict(entry)
    template = text(entry.get("message"))
    formatted = text(entry.get("formatted")) or template
    if not template:
        template = formatted
    if template and not formatted:
        formatted = template
    return template, formatted


def tags(data: dict) -> list[tuple[str, str]]:
    """Return the event's tags as (key, value) pairs, from either the mapping or the list-of-pairs form."""
    raw = data.get("tags")
    pairs = raw.items() if isinstance(raw, dict) else (p for p in _list(raw) if isinstance(p, list | tuple))
    out = []
    for pair in pairs:
        if len(out) >= MAX_TAGS or len(pair) != 2:
            continue
        key, value = text(pair[0], MAX_TAG_KEY).strip(), text(pair[1], MAX_TAG_VALUE)
        if key and value and key not in ("release", "environment", "user", "level"):
            out.append((key, value))
    return out


def user(data: dict) -> dict:
    """Return the user the event names: id, email, username and ip_address, each when given."""
    raw = _dict(data.get("user"))
    out = {k: text(raw.get(k), 200) for k in ("id", "email", "username", "ip_address")}
    return {k: v for k, v in out.items() if v}


def user_key(who: dict) -> str:
    """Return the one identifier that counts a user as affected: id, else email, else username, else IP."""
    for field in ("id", "email", "username", "ip_address"):
        if who.get(field):
            return f"{field}:{who[field]}"
    return ""


def request(data: dict) -> dict:
    """Return the HTTP request the event happened in: method, URL, query, headers, data."""
    raw = _dict(data.get("request"))
    if not raw:
        return {}
    headers = raw.get("headers")
    if isinstance(headers, dict):
        headers = list(headers.items())
    pairs = [
        [text(p[0], 100), text(p[1], 500)]
        for p in _list(headers)[:MAX_ITEMS]
        if isinstance(p, list | tuple) and len(p) == 2
    ]
    query = raw.get("query_string")
    if not isinstance(query, str):
        query = "&".join(
            f"{text(p[0], 100)}={text(p[1], 300)}"
            for p in _list(query)[:MAX_ITEMS]
            if isinstance(p, list | tuple) and len(p) == 2
        )
    return {
        "method": text(raw.get("method"), 20),
        "url": text(raw.get("url"), 1000),
        "query_string": text(query, 1000),
        "headers": pairs,
        "data": compact(raw.get("data"), 1),
    }


def _crumb_time(value) -> str:
    """Return a breadcrumb's time as an RFC 3339 string (kept as sent when it is one: the common case)."""
    if isinstance(value, str):
        return text(value, 40)
    when = parse_timestamp(value)
    return when.isoformat() if when else ""


def breadcrumbs(data: dict) -> list[dict]:
    """Return the last MAX_BREADCRUMBS breadcrumbs with their time, category, level and message."""
    out = []
    for raw in _values(data.get("breadcrumbs"))[-MAX_BREADCRUMBS:]:
        if not isinstance(raw, dict):
            continue
        crumb_data = raw.get("data")
        out.append(
            {
                "timestamp": _crumb_time(raw.get("timestamp")),
                "type": text(raw.get("type"), 50),
                "category": text(raw.get("category"), 100),
                "level": text(raw.get("level"), 20),
                "message": text(raw.get("message")),
                "data": compact(crumb_data, 2) if isinstance(crumb_data, dict) and crumb_data else None,
            }
        )
    return out


def _in_app_last(frames: list[dict]) -> dict | None:
    for f in reversed(frames):
        if f["in_app"]:
            return f
    return frames[-1] if frames else None


def culprit(data: dict, excs: list[dict]) -> str:
    """Return where it happened: the innermost in-app frame (`module in function`), else the transaction."""
    if excs:
        f = _in_app_last(excs[-1]["frames"])
        if f and (f["module"] or f["filename"]) and f["function"]:
            return text(f"{f['module'] or f['filename']} in {f['function']}", 200)
    return text(data.get("transaction") or data.get("culprit"), 200)


def title(excs: list[dict], formatted_message: str) -> str:
    """Return the event's title: `Type: value` of the most recent exception, else the message."""
    if excs and not (excs[-1]["synthetic"] and formatted_message.strip()):
        last = excs[-1]
        head = last["type"] or "Error"
        first_line = last["value"].splitlines()[0] if last["value"] else ""
        return text(f"{head}: {first_line}" if first_line else head, MAX_TITLE)
    first_line = formatted_message.strip().splitlines()[0] if formatted_message.strip() else ""
    return text(first_line, MAX_TITLE) or "<no message>"


def normalize(data: dict, received: datetime) -> dict:
    """Return the compact event: what grouping, the group's counters and the event page need."""
    if not isinstance(data, dict):
        data = {}
    excs = exceptions(data)
    template, formatted = message(data)
    level = text(data.get("level"), 10).lower()
    when = parse_timestamp(data.get("timestamp")) or received
    # A clock running ahead (or a hostile client) must not put events in the future, nor decades back; an
    # event older than MAX_AGE (an app offline for long) counts as received now, as Sentry does.
    if not received - MAX_AGE <= when <= received:
        when = received
    who = user(data)
    contexts = _dict(data.get("contexts"))
    sdk = _dict(data.get("sdk"))
    return {
        "event_id": text(data.get("event_id"), 36).replace("-", "").lower(),
        "timestamp": when,
        "level": level if level in LEVELS else ("error" if excs else "info"),
        "platform": text(data.get("platform"), 30),
        "logger": text(data.get("logger"), 100),
        "transaction": text(data.get("transaction"), 200),
        "server_name": text(data.get("server_name"), 100),
        "release": text(data.get("release"), 100).strip(),
        "environment": text(data.get("environment"), 50).strip(),
        "dist": text(data.get("dist"), 64),
        "title": title(excs, formatted),
        "culprit": culprit(data, excs),
        "message_template": template,
        "message": formatted,
        "exceptions": excs,
        "fingerprint": [text(x, 200) for x in _list(data.get("fingerprint"))[:20] if isinstance(x, str)],
        "tags": tags(data),
        "user": who,
        "user_key": user_key(who),
        "request": request(data),
        "breadcrumbs": breadcrumbs(data),
        "contexts": compact(contexts, 1) if contexts else {},
        "extra": compact(_dict(data.get("extra")), 1),
        "sdk": {"name": text(sdk.get("name"), 100), "version": text(sdk.get("version"), 50)},
    }
