"""Which events are the same problem: the fingerprint of a normalized event. Pure logic, no Django.

- The SDK's `fingerprint` wins; `{{ default }}` in it stands for the default components below.
- An exception: its type plus the in-app frames' module (or file) and function, for every exception of
  the chain. Line numbers and the exception's value are left out, so the same bug raised from another
  line of the same function, or with another id in its message, is one group; another exception type is
  another group.
- A message: the message with numbers, ids, hex, UUIDs, e-mail and IP addresses stripped.

GlitchTip groups by md5(title + culprit): a value with an id in it (`KeyError: 'user-41'`) splits one bug
into a group per id, and two bugs in one request handler with the same message share a group. The tests
show both (tests/errors/test_grouping.py).
"""

import hashlib
import json
import re

MAX_FRAMES = 30  # the innermost in-app frames that count; deep recursion must not split a bug
DEFAULT = "{{ default }}"

# Parts of a message that vary between occurrences of one problem, in the order they are replaced.
_VARIABLE = [
    (
        re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"),
        "<uuid>",
    ),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "<email>"),
    (re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b"), "<ip>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{7,}\b"), "<hex>"),
    (re.compile(r"\d+(\.\d+)?"), "<n>"),
]
# A file name's parts that change from build to build: query strings and content hashes (app.3f9a1c.js).
_FILE_QUERY = re.compile(r"[?#].*$")
_FILE_HASH = re.compile(r"([.-])[0-9a-f]{6,}(?=\.)", re.IGNORECASE)


def strip_variables(message: str) -> str:
    """Return `message` with numbers, ids, hex, UUIDs, e-mail and IP addresses replaced by placeholders."""
    message = message[:1000]
    for pattern, placeholder in _VARIABLE:
        message = pattern.sub(placeholder, message)
    return " ".join(message.split())


def _where(frame: dict) -> str:
    """Return the frame's place without its line: the module, else the file name without build hashes."""
    if frame.get("module"):
        return frame["module"]
    name = _FILE_QUERY.sub("", frame.get("filename") or frame.get("abs_path") or "")
    name = re.sub(r"^[a-z]+://[^/]*", "", name)  # app:///x.js and https://cdn/x.js are the same file
    return _FILE_HASH.sub(r"\1<hash>", name)


def _frames(frames: list[dict]) -> list[str]:
    chosen = [f for f in frames if f.get("in_app")] or frames
    return [f"{_where(f)}:{f.get('function') or '?'}" for f in chosen[-MAX_FRAMES:]]


def default_components(event: dict) -> list[str]:
    """Return the default grouping components of a normalized event."""
    excs = event.get("exceptions") or []
    template = event.get("message_template") or event.get("message") or ""
    if excs and all(e.get("synthetic") for e in excs) and template:
        excs = []  # a message with a stack trace attached by the SDK: grouped as the message
    if excs:
        parts = []
        for exc in excs:
            parts.append("type:" + (exc.get("type") or "Error"))
            parts.extend("frame:" + f for f in _frames(exc.get("frames") or []))
        if not any(p.startswith("frame:") for p in parts):
            # No stack trace at all: the value (variables stripped) is all that tells bugs apart.
            parts.append("value:" + strip_variables(excs[-1].get("value") or ""))
        return parts
    if template:
        return ["message:" + strip_variables(template)]
    return ["title:" + strip_variables(event.get("title") or "")]


def components(event: dict) -> list[str]:
    """Return the grouping components: the SDK's fingerprint (with `{{ default }}` expanded) or the default."""
    custom = [c for c in event.get("fingerprint") or [] if isinstance(c, str)]
    if not custom:
        return default_components(event)
    out = []
    for part in custom:
        if part.replace(" ", "").lower() == "{{default}}":
            out.extend(default_components(event))
        else:
            out.append("custom:" + part)
    return out


def fingerprint(event: dict) -> str:
    """Return the group's fingerprint of a normalized event: 32 hex characters."""
    blob = json.dumps(components(event), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "replace")).hexdigest()[:32]


def glitchtip_fingerprint(event: dict) -> str:
    """Return GlitchTip's grouping, md5(title + culprit): the baseline the tests compare against."""
    return hashlib.md5((event.get("title", "") + event.get("culprit", "")).encode()).hexdigest()
