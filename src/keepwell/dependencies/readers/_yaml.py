"""A fast reader for the plain YAML subset pnpm and yarn write; anything else is left to PyYAML.

PyYAML builds Python objects in Python even with its C parser, which takes most of a minute for a lockfile of
100,000 packages. Lockfile writers emit a small, regular subset: block mappings indented by spaces, plain or
quoted scalars, one-line flow collections. This module reads exactly that subset and gives up (returns None)
on anything else, so the caller falls back to the full parser, which also reports errors with their line.
"""

from __future__ import annotations

import re


class _Unsupported(Exception):
    pass


_INT = re.compile(r"^[-+]?\d+$")
_SPECIAL_START = set("&*!|>%@`?")


def _plain(value: str):
    if value in ("true", "True", "TRUE"):
        return True
    if value in ("false", "False", "FALSE"):
        return False
    if value in ("null", "Null", "NULL", "~", ""):
        return None
    if _INT.match(value):
        return int(value)
    if " #" in value or value[0] in _SPECIAL_START or value.startswith(("- ", ": ")):
        raise _Unsupported
    try:
        float(value)
    except ValueError:
        return value
    raise _Unsupported  # YAML floats and their spellings are left to PyYAML


def _quoted(text: str, start: int) -> tuple[str, int]:
    """Read a quoted scalar starting at text[start]; return it and the index after the closing quote."""
    quote = text[start]
    i = start + 1
    out = []
    while i < len(text):
        char = text[i]
        if quote == "'" and char == "'":
            if text[i + 1 : i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        if quote == '"' and char == "\\":
            escaped = text[i + 1 : i + 2]
            simple = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t"}
            if escaped not in simple:
                raise _Unsupported
            out.append(simple[escaped])
            i += 2
            continue
        if quote == '"' and char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise _Unsupported  # unterminated: let PyYAML report where


def _flow(text: str, i: int):
    """Read a one-line flow collection or scalar at text[i]; return the value and the index after it."""
    while i < len(text) and text[i] == " ":
        i += 1
    if i >= len(text):
        raise _Unsupported
    opening = text[i]
    if opening in "{[":
        closing = "}" if opening == "{" else "]"
        result: dict | list = {} if opening == "{" else []
        i += 1
        while True:
            while i < len(text) and text[i] == " ":
                i += 1
            if i < len(text) and text[i] == closing:
                return result, i + 1
            if opening == "{":
                key, i = _flow_key(text, i)
                value, i = _flow(text, i)
                result[key] = value
            else:
                value, i = _flow(text, i)
                result.append(value)
            while i < len(text) and text[i] == " ":
                i += 1
            if i < len(text) and text[i] == ",":
                i += 1
                continue
            if i < len(text) and text[i] == closing:
                return result, i + 1
            raise _Unsupported
    if opening in "'\"":
        return _quoted(text, i)
    end = i
    while end < len(text) and text[end] not in ",]}":
        end += 1
    return _plain(text[i:end].strip()), end


def _flow_key(text: str, i: int) -> tuple[str, int]:
    if text[i] in "'\"":
        key, i = _quoted(text, i)
    else:
        end = text.find(":", i)
        while end >= 0 and text[end + 1 : end + 2] not in (" ", ""):
            end = text.find(":", end + 1)
        if end < 0:
            raise _Unsupported
        key, i = text[i:end].strip(), end
        if not key or key[0] in _SPECIAL_START or key[0] in "{[":
            raise _Unsupported
    if text[i : i + 1] != ":":
        raise _Unsupported
    return key, i + 1


def _key(line: str) -> tuple[str, str]:
    """Split "key: value" (key plain or quoted); the value is "" when the line ends after the colon."""
    if line[0] in "'\"":
        key, end = _quoted(line, 0)
        if line[end : end + 1] != ":" or line[end + 1 : end + 2] not in (" ", ""):
            raise _Unsupported
        return key, line[end + 1 :].strip()
    if line.endswith(":") and ": " not in line:
        key, rest = line[:-1], ""
    else:
        at = line.find(": ")
        if at <= 0:
            raise _Unsupported
        key, rest = line[:at], line[at + 2 :].strip()
    if key[0] in _SPECIAL_START or key[0] in "{[-#" or " #" in key:
        raise _Unsupported
    return key, rest


def _value(rest: str):
    if rest[0] in "{[":
        value, end = _flow(rest, 0)
    elif rest[0] in "'\"":
        value, end = _quoted(rest, 0)
    else:
        return _plain(rest)
    if rest[end:].strip():
        raise _Unsupported
    return value


def load(text: str):
    """Return the document for the supported subset, or None when the full parser is needed."""
    try:
        return _load(text)
    except (_Unsupported, IndexError):
        return None


def _load(text: str):
    root: dict = {}
    stack: list[tuple[int, dict | list]] = [(0, root)]
    pending: tuple[int, dict, str] | None = None
    for raw in text.split("\n"):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if raw.startswith("\t") or "\t" in raw[: len(raw) - len(raw.lstrip())] or stripped in ("---", "..."):
            raise _Unsupported
        indent = len(raw) - len(raw.lstrip(" "))
        if pending is not None:
            parent_indent, parent, key = pending
            pending = None
            if indent > parent_indent:
                container: dict | list = [] if stripped.startswith("- ") else {}
                parent[key] = container
                stack.append((indent, container))
            else:
                parent[key] = None
        while indent < stack[-1][0]:
            stack.pop()
        level, container = stack[-1]
        if indent != level:
            raise _Unsupported
        if stripped.startswith("- "):
            item = stripped[2:].strip()
            if (
                not isinstance(container, list)
                or not item
                or (": " in item or item.endswith(":"))
                and item[0] not in "'\"{["
            ):
                raise _Unsupported
            container.append(_value(item))
            continue
        if not isinstance(container, dict):
            raise _Unsupported
        key, rest = _key(stripped.rstrip())
        if key in container:
            raise _Unsupported  # duplicate keys: PyYAML decides
        if rest == "":
            pending = (indent, container, key)
        else:
            container[key] = _value(rest)
    if pending is not None:
        pending[1][pending[2]] = None
    return root
