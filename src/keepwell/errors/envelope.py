"""The Sentry envelope format: parse the framing, build envelopes; pure Python, no Django.

Public contract (the grouping side relies on it):

    parse_envelope(data: bytes | bytearray | memoryview, *, max_items=..., max_depth=...) -> Envelope
        Envelope.headers: dict             the first line (event_id, dsn, sent_at, sdk, ...)
        Envelope.items: list[Item]
        Envelope.event_id: str | None      the header's event_id (32 lowercase hex digits) or None
        Item.type: str                     "event", "transaction", "session", "attachment", ...
        Item.headers: dict                 the item's header line (type, length, filename, ...)
        Item.payload: bytes                cut from the envelope when first read
        Item.size: int                     the payload's length, without cutting it out
        Item.json() -> object              depth-limited; raises EnvelopeError on invalid or too deep JSON
    event_to_envelope(event: dict | bytes, *, event_id=None, dsn=None) -> bytes
        wraps a /store/ event so that the spool only ever holds envelopes
    loads(data: bytes, max_depth=MAX_DEPTH) -> object
        json.loads with a nesting limit checked before parsing (never a RecursionError)
    EnvelopeError(ValueError)              the message says what is wrong, for the client to read

Format (https://develop.sentry.dev/sdk/envelopes/): a header line of JSON, then items; each item is a header
line of JSON with a `type`, then a payload of exactly `length` bytes when the header gives one (followed by a
newline or the end), else everything up to the next newline or the end.
"""

import json
import re
from array import array
from dataclasses import dataclass, field
from itertools import accumulate

__all__ = [
    "ACCEPTED_TYPES",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "Envelope",
    "EnvelopeError",
    "Item",
    "event_to_envelope",
    "loads",
    "normalize_event_id",
    "parse_envelope",
]

# Nesting deeper than this is refused. The SDKs trim data at depth 10 or so; 128 leaves room for anything real
# while staying far below Python's recursion limit, which the C JSON parser would otherwise hit.
MAX_DEPTH = 128
MAX_ITEMS = 1000
MAX_HEADER_LINE = 64 * 1024

# The item types kept in the spool; the processing side reads these. Others are dropped without error.
ACCEPTED_TYPES = frozenset(
    {"event", "transaction", "session", "sessions", "attachment", "user_report", "feedback", "client_report"}
)
# Item types whose payload must be a JSON document (checked at ingest so the jobs never meet a broken one).
JSON_TYPES = frozenset(
    {"event", "transaction", "session", "sessions", "user_report", "feedback", "client_report"}
)

_EVENT_ID = re.compile(
    r"^[0-9a-fA-F]{32}$|^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
# A JSON string (the unrolled form: linear, no backtracking blow-up on long or hostile input).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
# Opening brackets count +1 and closing ones -1 once read as signed bytes (0xFF is -1).
_DEPTH_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")


class EnvelopeError(ValueError):
    """The envelope is malformed; the message says what is wrong."""


def _depth(data: bytes) -> int:
    """Return the deepest nesting of arrays and objects in JSON `data`, ignoring brackets inside strings."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return max(accumulate(array("b", brackets.translate(_DEPTH_STEPS))))


def loads(data: bytes | str, max_depth: int = MAX_DEPTH, what: str = "JSON"):
    """Parse JSON `data`, refusing nesting deeper than `max_depth` before the parser recurses."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    depth = _depth(raw)
    if depth > max_depth:
        raise EnvelopeError(f"{what} is nested {depth} levels deep; at most {max_depth} levels are accepted.")
    try:
        return json.loads(raw)
    except RecursionError:  # pragma: no cover - the depth check above comes first
        raise EnvelopeError(
            f"{what} is nested too deeply; at most {max_depth} levels are accepted."
        ) from None
    except UnicodeDecodeError as exc:
        raise EnvelopeError(f"{what} is not valid UTF-8 ({exc.reason} at byte {exc.start}).") from None
    except ValueError as exc:
        raise EnvelopeError(f"{what} is not valid JSON ({exc}).") from None


class Item:
    """One item: its type, header and payload. The payload is cut from the envelope only when first read."""

    __slots__ = ("type", "headers", "max_depth", "_payload", "_source", "_start", "_end")

    def __init__(
        self,
        type: str,
        headers: dict,
        payload: bytes = b"",
        max_depth: int = MAX_DEPTH,
        *,
        source=None,
        start=0,
        end=0,
    ):
        self.type = type
        self.headers = headers
        self.max_depth = max_depth
        if source is None:
            self._payload, self._source, self._start, self._end = bytes(payload), None, 0, len(payload)
        else:
            # A large attachment need not be copied just to check its size or to store the whole envelope.
            self._payload, self._source, self._start, self._end = None, source, start, end

    @property
    def payload(self) -> bytes:
        if self._payload is None:
            self._payload = bytes(memoryview(self._source)[self._start : self._end])
            self._source = None
        return self._payload

    @property
    def size(self) -> int:
        """Return the payload's length in bytes (without cutting it out)."""
        return self._end - self._start

    def json(self):
        """Return the payload parsed as JSON (depth-limited)."""
        return loads(self.payload, self.max_depth, what=f"The {self.type} item's payload")

    def __eq__(self, other):
        if not isinstance(other, Item):
            return NotImplemented
        return (self.type, self.headers, self.payload) == (other.type, other.headers, other.payload)

    def __repr__(self):
        return f"Item(type={self.type!r}, headers={self.headers!r}, size={self.size})"


@dataclass
class Envelope:
    headers: dict
    items: list[Item] = field(default_factory=list)

    @property
    def event_id(self) -> str | None:
        """Return the header's event id as 32 lowercase hex digits, or None."""
        return normalize_event_id(self.headers.get("event_id"))


def _header_line(data: bytes, start: int, what: str, max_depth: int) -> tuple[dict, int]:
    """Return the JSON object on the line at `start` and the offset after its newline."""
    end = data.find(b"\n", start)
    if end == -1:
        end = len(data)
    if end - start > MAX_HEADER_LINE:
        raise EnvelopeError(
            f"The {what} is {end - start} bytes long; at most {MAX_HEADER_LINE} are accepted."
        )
    line = data[start:end].rstrip(b"\r")
    if not line.strip():
        value = {}
    else:
        value = loads(line, max_depth, what=f"The {what}")
    if not isinstance(value, dict):
        raise EnvelopeError(f"The {what} must be a JSON object, got {type(value).__name__}.")
    return value, end + 1


def _length(headers: dict, index: int) -> int | None:
    length = headers.get("length")
    if length is None:
        return None
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise EnvelopeError(f"Item {index} has an invalid length {length!r}; give a whole number of bytes.")
    return length


def parse_envelope(
    data: bytes | bytearray, *, max_items: int = MAX_ITEMS, max_depth: int = MAX_DEPTH
) -> Envelope:
    """Parse the framing of envelope `data`: the header line and each item's header and payload."""
    if not isinstance(data, (bytes, bytearray)):
        data = bytes(data)  # a memoryview (PostgreSQL's bytea) and the like
    if not data or data.isspace():
        raise EnvelopeError("The envelope is empty; send a header line and at least one item.")
    headers, pos = _header_line(data, 0, "envelope header", max_depth)
    envelope = Envelope(headers=headers)
    size = len(data)
    while pos < size:
        # Blank lines between items (and a trailing newline) are tolerated, as Relay does.
        if data[pos : pos + 1] in (b"\n", b"\r"):
            pos += 1
            continue
        index = len(envelope.items) + 1
        if index > max_items:
            raise EnvelopeError(f"The envelope has more than {max_items} items; send fewer per envelope.")
        item_headers, pos = _header_line(data, pos, f"header of item {index}", max_depth)
        item_type = item_headers.get("type")
        if not isinstance(item_type, str) or not item_type:
            raise EnvelopeError(f'Item {index} has no "type" in its header.')
        length = _length(item_headers, index)
        if length is not None:
            if pos + length > size:
                raise EnvelopeError(
                    f"Item {index} ({item_type}) declares {length} bytes but only {max(size - pos, 0)} follow: "
                    "the envelope is truncated or the length is wrong."
                )
            start, end = pos, pos + length
            pos += length
            if pos < size:
                if data[pos : pos + 1] != b"\n":
                    raise EnvelopeError(
                        f"Item {index} ({item_type}) is not followed by a newline after its {length} bytes: "
                        "its length is wrong."
                    )
                pos += 1
        else:
            end = data.find(b"\n", pos)
            if end == -1:
                end = size
            start, pos = pos, end + 1
        envelope.items.append(
            Item(item_type, item_headers, max_depth=max_depth, source=data, start=start, end=end)
        )
    return envelope


def event_to_envelope(event: dict | bytes, *, event_id: str | None = None, dsn: str | None = None) -> bytes:
    """Wrap one event (a /store/ body, parsed or raw JSON bytes) in an envelope with one item."""
    if isinstance(event, (bytes, bytearray, memoryview)):
        payload = bytes(event)
        parsed = loads(payload, what="The event")
    else:
        parsed = event
        payload = json.dumps(event, separators=(",", ":")).encode()
    if not isinstance(parsed, dict):
        raise EnvelopeError(f"The event must be a JSON object, got {type(parsed).__name__}.")
    if event_id is None:
        event_id = normalize_event_id(parsed.get("event_id"))
    item_type = "transaction" if parsed.get("type") == "transaction" else "event"
    headers: dict = {}
    if event_id:
        headers["event_id"] = event_id
    if dsn:
        headers["dsn"] = dsn
    item = {"type": item_type, "length": len(payload), "content_type": "application/json"}
    return b"\n".join([json.dumps(headers).encode(), json.dumps(item).encode(), payload]) + b"\n"


def normalize_event_id(value) -> str | None:
    """Return `value` as 32 lowercase hex digits when it is an event id, else None."""
    if isinstance(value, str) and _EVENT_ID.match(value):
        return value.replace("-", "").lower()
    return None
