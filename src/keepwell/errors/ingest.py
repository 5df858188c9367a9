"""Accept what Sentry SDKs send: authenticate the key, rate-limit it, check the envelope, spool it durably.

The transports (ingest_views for Django, ingest_asgi in front of it under uvicorn) read the body through
ingest_body.BodyDecoder and call `authenticate` and `accept` here. Accepting means: framing and JSON are
valid, the envelope is committed to the RawEnvelope spool, and a job (tasks.process_envelope) is queued on
commit. Parsing events, grouping and storing them is the job's work, not this module's.
"""

import base64
import binascii
import contextlib
import ipaddress
import json
import logging
import threading
import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from . import envelope as envelope_format
from .ingest_body import BodyDecoder
from .models import Dsn, RawEnvelope

log = logging.getLogger(__name__)

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": (
        "x-sentry-auth, x-requested-with, origin, accept, content-type, content-encoding, authorization, "
        "sentry-trace, baggage"
    ),
    "Access-Control-Expose-Headers": "x-sentry-error, x-sentry-rate-limits, retry-after",
    "Access-Control-Max-Age": "3600",
}


@dataclass
class Answer:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)

    def content(self) -> bytes:
        return json.dumps(self.body).encode()


class Refused(Exception):
    """Answer the SDK with a 4xx: `detail` says what is wrong and what to do."""

    def __init__(self, status: int, detail: str, headers: dict | None = None):
        super().__init__(detail)
        # The SDKs log X-Sentry-Error; a header value may hold no line breaks.
        header = " ".join(detail[:200].split())
        self.answer = Answer(status, {"detail": detail}, {"X-Sentry-Error": header, **(headers or {})})


def decoder(content_encoding: str | None, content_length: str | None) -> BodyDecoder:
    """Return a BodyDecoder with the configured caps; refuse (413) a declared length over the cap."""
    from .ingest_body import BodyUnreadable

    if content_length:
        try:
            declared = int(content_length)
        except ValueError:
            raise Refused(400, f"Content-Length {content_length[:40]!r} is not a number.") from None
        if declared > settings.ERRORS_MAX_BODY:
            raise Refused(
                413,
                f"The request body ({declared} bytes) is over the limit of {settings.ERRORS_MAX_BODY} bytes; "
                "send smaller envelopes (fewer or smaller attachments).",
            )
    try:
        return BodyDecoder(content_encoding, settings.ERRORS_MAX_BODY, settings.ERRORS_MAX_DECOMPRESSED)
    except BodyUnreadable as exc:
        raise Refused(415, str(exc)) from None


def client_ip(value: str | None) -> str | None:
    """Return `value` when it is an IP address (the spool's column refuses anything else)."""
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


# --- The key -----------------------------------------------------------------------------------------------


def key_from_auth_header(value: str | None) -> str | None:
    """Return sentry_key from an X-Sentry-Auth (or Authorization: Sentry ...) header."""
    if not value:
        return None
    value = value.strip()
    if value[:7].lower() == "sentry ":
        value = value[7:]
    for part in value.split(","):
        name, _, item = part.strip().partition("=")
        if name.strip() == "sentry_key":
            return item.strip() or None
    return None


def key_from_request(headers: dict, query_string: str) -> str | None:
    """Return the public key from X-Sentry-Auth, Authorization: Sentry ..., or ?sentry_key=."""
    key = key_from_auth_header(headers.get("x-sentry-auth"))
    if key is None and headers.get("authorization", "")[:7].lower() == "sentry ":
        key = key_from_auth_header(headers["authorization"])
    if key is None and query_string:
        values = parse_qs(query_string).get("sentry_key")
        if values:
            key = values[0].strip() or None
    return key


def _key_from_dsn(dsn: object) -> tuple[str, str] | None:
    """Return (public key, project id) from the DSN in an envelope header."""
    if not isinstance(dsn, str) or len(dsn) > 2000:
        return None
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return None
    if not parts.username:
        return None
    return parts.username, parts.path.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Key:
    """What ingestion needs of a Dsn row (read with one plain query, not a model instance)."""

    id: int
    service_id: int
    project_id: int
    active: bool
    rate_limit: int


_SQLITE_WRITER = threading.Lock()


def _writer_lock():
    """Return a lock for the spool write: on SQLite, this process's threads take turns.

    SQLite has one writer at a time; threads that collide wait in its busy handler, which sleeps in steps of
    up to 100 ms. Taking turns in the process first keeps that wait to the length of one short transaction.
    """
    return _SQLITE_WRITER if connection.vendor == "sqlite" else contextlib.nullcontext()


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def authenticate(project_id: int, public_key: str) -> Key:
    """Return the active key `public_key` of project `project_id`, or refuse with 401/403."""
    if len(public_key) != 32:
        raise Refused(
            401,
            "The DSN key is not valid (a public key has 32 hex digits); copy the DSN from keepwell again.",
        )
    # Plain SQL: this runs for every envelope, and the ORM's query building costs more than the query.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, service_id, project_id, active, rate_limit FROM {_table(Dsn)} WHERE public_key = %s",
            [public_key.lower()],
        )
        row = cursor.fetchone()
    if row is None:
        raise Refused(401, "Unknown DSN key; copy the DSN from the service's DSN keys page in keepwell.")
    key = Key(row[0], row[1], row[2], bool(row[3]), row[4])
    if key.project_id != project_id:
        raise Refused(
            403,
            f"This DSN key does not belong to project {project_id}; "
            "use the whole DSN as keepwell shows it (key and project id together).",
        )
    if not key.active:
        raise Refused(403, "This DSN key was revoked; create a new key on the service's DSN keys page.")
    return key


# --- Rate limits ------------------------------------------------------------------------------------------


def _uses_redis_cache() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def _over_limit(key: Key, minute: int) -> bool:
    """Count one envelope in the key's current minute; return True when that is over its limit."""
    limit = key.rate_limit
    if _uses_redis_cache():
        # Redis counts atomically across every web process.
        name = f"keepwell:errors:rate:{key.id}:{minute}"
        cache.add(name, 0, timeout=120)
        try:
            return cache.incr(name) > limit
        except ValueError:  # the counter expired between add and incr
            cache.add(name, 1, timeout=120)
            return False
    # Without Redis the database counts: one conditional UPDATE, atomic on SQLite and PostgreSQL alike.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table(Dsn)} SET window_count = CASE WHEN window_minute = %s THEN window_count + 1 ELSE 1 END, "
            "window_minute = %s WHERE id = %s AND (window_minute <> %s OR window_count < %s)",
            [minute, minute, key.id, minute, limit],
        )
        return cursor.rowcount == 0


def check_rate(key: Key) -> None:
    """Refuse (429, with the headers the SDKs obey) when the key is over its envelopes-per-minute limit."""
    if not key.rate_limit:
        return
    now = time.time()
    minute = int(now // 60)
    if _over_limit(key, minute):
        retry_after = max(1, int((minute + 1) * 60 - now + 0.999))
        raise Refused(
            429,
            f"This DSN key is over its rate limit of {key.rate_limit} envelopes a minute; "
            f"retry after {retry_after} seconds or raise the key's limit in keepwell.",
            # "<seconds>:<categories>:<scope>": empty categories mean every kind of data, as Relay sends it.
            {"Retry-After": str(retry_after), "X-Sentry-Rate-Limits": f"{retry_after}::key"},
        )


# --- The envelope -----------------------------------------------------------------------------------------


def _checked(envelope: envelope_format.Envelope) -> tuple[list, str | None]:
    """Return the items to keep and the event id; refuse (400) an item whose JSON is broken."""
    kept, event_id = [], envelope.event_id
    for index, item in enumerate(envelope.items, 1):
        if item.type not in envelope_format.ACCEPTED_TYPES:
            continue  # profiles, replays, check-ins...: accepted and dropped, as the protocol allows
        if item.type == "attachment" and item.size > settings.ERRORS_MAX_ATTACHMENT:
            log.info("dropped a %d-byte attachment over ERRORS_MAX_ATTACHMENT", item.size)
            continue
        if item.type in envelope_format.JSON_TYPES:
            try:
                value = item.json()
            except envelope_format.EnvelopeError as exc:
                raise Refused(400, f"Item {index} ({item.type}): {exc}") from None
            if item.type in ("event", "transaction"):
                if not isinstance(value, dict):
                    raise Refused(400, f"Item {index} ({item.type}) must be a JSON object.")
                event_id = event_id or envelope_format.normalize_event_id(value.get("event_id"))
        kept.append(item)
    return kept, event_id


def _serialize(headers: dict, items: list) -> bytes:
    parts = [json.dumps(headers, separators=(",", ":")).encode()]
    for item in items:
        parts.append(
            json.dumps({**item.headers, "length": len(item.payload)}, separators=(",", ":")).encode()
        )
        parts.append(item.payload)
    return b"\n".join(parts) + b"\n"


def _seen_key(service_id: int, event_id: str) -> str:
    return f"keepwell:errors:seen:{service_id}:{event_id}"


def _seen_before(pendings: list["Pending"]) -> set[tuple[int, str]]:
    """Return (service id, event id) of the envelopes in `pendings` whose event is already spooled or stored.

    Without Redis: one query for the whole batch, over the spool and the stored events (the processing job
    also refuses a second copy of an event).
    """
    from .models import ErrorEvent

    wanted = {(p.dsn.service_id, p.event_id) for p in pendings}
    if not wanted:
        return set()
    services = sorted({service for service, _ in wanted})
    event_ids = sorted({event_id for _, event_id in wanted})
    where = (
        f"WHERE service_id IN ({', '.join(['%s'] * len(services))}) "
        f"AND event_id IN ({', '.join(['%s'] * len(event_ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT service_id, event_id FROM {_table(RawEnvelope)} {where} "
            f"UNION SELECT service_id, event_id FROM {_table(ErrorEvent)} {where}",
            [*services, *event_ids] * 2,
        )
        found = set(cursor.fetchall())
    return found & wanted


def _spool(pendings: list["Pending"]) -> list[int]:
    """Insert the envelopes into the spool with one statement; return their ids."""
    received_at = connection.ops.adapt_datetimefield_value(timezone.now())
    head = f"INSERT INTO {_table(RawEnvelope)} (dsn_id, service_id, received_at, body, event_id, client_ip) VALUES "
    params = []
    for p in pendings:
        params += [p.dsn.id, p.dsn.service_id, received_at, p.body, p.event_id, p.client_ip]
    if connection.vendor == "postgresql":
        # The body as a binary parameter: Django's cursor would inline it as hex text, twice its size.
        import psycopg

        connection.ensure_connection()
        row = "(%s, %s, %s, %b, %s, %s::inet)"
        # wrap_database_errors: a dropped connection raises Django's OperationalError, which callers retry.
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(head + ", ".join([row] * len(pendings)) + " RETURNING id", params)
            return [r[0] for r in cursor.fetchall()]
    row = "(%s, %s, %s, %s, %s, %s)"
    with connection.cursor() as cursor:
        cursor.execute(head + ", ".join([row] * len(pendings)) + " RETURNING id", params)
        return [r[0] for r in cursor.fetchall()]


def _legacy_store_body(body) -> bytes:
    """Return a /store/ body as JSON: old SDKs (raven) send base64 of zlib-compressed JSON."""
    start = body.lstrip()[:1]
    if start in (b"{", b""):
        return body
    try:
        compressed = base64.b64decode(bytes(body), validate=True)
        inflater = zlib.decompressobj()
        data = inflater.decompress(compressed, settings.ERRORS_MAX_DECOMPRESSED + 1)
    except (binascii.Error, ValueError, zlib.error):
        raise Refused(400, "The event is neither JSON nor base64 of zlib-compressed JSON.") from None
    if len(data) > settings.ERRORS_MAX_DECOMPRESSED or inflater.unconsumed_tail:
        raise Refused(
            413, f"The event is over the limit of {settings.ERRORS_MAX_DECOMPRESSED} bytes once decompressed."
        )
    return data


def parse(body: bytes, endpoint: str) -> tuple[envelope_format.Envelope, bytes]:
    """Return the envelope in `body` (a /store/ event is wrapped into one); refuse (400) a malformed one."""
    try:
        if endpoint == "store":
            body = envelope_format.event_to_envelope(_legacy_store_body(body))
        return envelope_format.parse_envelope(body, max_items=settings.ERRORS_MAX_ITEMS), body
    except envelope_format.EnvelopeError as exc:
        raise Refused(400, str(exc)) from None


@dataclass
class Pending:
    """An envelope that passed the checks and waits for the spool (`spool_batch` writes it)."""

    dsn: Key
    body: bytes
    event_id: str | None
    client_ip: str | None
    answer: Answer


def check(
    project_id: int,
    endpoint: str,
    body: bytes,
    public_key: str | None,
    client_ip: str | None = None,
    dsn: Key | None = None,
) -> Pending | Answer:
    """Check one envelope (or /store/ event): return it ready for the spool, or the answer when there is
    nothing to spool; refuse (4xx) a malformed envelope or a wrong key."""
    envelope, body = parse(body, endpoint)
    if dsn is None:
        if public_key is None:
            from_header = _key_from_dsn(envelope.headers.get("dsn"))
            if from_header is None:
                raise Refused(
                    401,
                    "No DSN key: send X-Sentry-Auth: Sentry sentry_key=<key>, ?sentry_key=<key>, "
                    'or the DSN in the envelope header ("dsn").',
                )
            public_key, header_project = from_header
            if header_project != str(project_id):
                raise Refused(
                    403,
                    f"The envelope's DSN is for project {header_project[:20]!r}, not project {project_id}.",
                )
        dsn = authenticate(project_id, public_key)
    items, event_id = _checked(envelope)
    if len(items) != len(envelope.items):
        body = _serialize(envelope.headers, items)
    answer = Answer(200, {"id": event_id} if event_id else {})
    if not items:
        return answer
    return Pending(dsn, body, event_id, client_ip, answer)


def spool_batch(pendings: list[Pending], enqueue=None) -> list:
    """Rate-limit, drop duplicates and spool `pendings` in one transaction (a group commit).

    Return per envelope its Answer, or the Refused (429) of one over its key's rate limit. After the commit,
    `enqueue(spool_id)` (default: queue tasks.process_envelope at once) is called once, with the highest id
    of the batch: the job it queues (or the one already waiting) drains the whole spool. Should the
    transaction fail, nothing of the batch is stored or counted as seen, and the exception is raised.
    """
    results: list = [p.answer for p in pendings]
    marked = []
    redis = _uses_redis_cache()
    try:
        # On SQLite the rate counters, the duplicate checks and the insert share one commit.
        with _writer_lock(), transaction.atomic():
            allowed = []
            for index, pending in enumerate(pendings):
                try:
                    check_rate(pending.dsn)
                except Refused as refused:
                    results[index] = refused
                    continue
                allowed.append(pending)
            seen = set() if redis else _seen_before([p for p in allowed if p.event_id])
            spooled = []
            for pending in allowed:
                if pending.event_id:
                    name = (pending.dsn.service_id, pending.event_id)
                    if redis:
                        # add() is atomic: of two copies arriving at once, one wins.
                        if not cache.add(_seen_key(*name), 1, timeout=settings.ERRORS_DEDUPE_SECONDS):
                            continue
                        marked.append(name)
                    elif name in seen:
                        continue
                    seen.add(name)  # a second copy in the same batch
                spooled.append(pending)
            if spooled:
                last = max(_spool(spooled))
                transaction.on_commit(lambda: (enqueue or _enqueue)(last))
    except Exception:
        if marked:  # not stored: let the SDK's retry through
            cache.delete_many([_seen_key(*name) for name in marked])
        raise
    return results


def accept(
    project_id: int,
    endpoint: str,
    body: bytes,
    public_key: str | None,
    client_ip: str | None = None,
    dsn: Key | None = None,
    enqueue=None,
) -> Answer:
    """Check and spool one envelope (or /store/ event) in its own transaction; return the answer for the SDK.

    After the commit, `enqueue(spool_id)` (default: queue tasks.process_envelope at once) hands it to the job.
    """
    pending = check(project_id, endpoint, body, public_key, client_ip, dsn)
    if isinstance(pending, Answer):
        return pending
    (result,) = spool_batch([pending], enqueue)
    if isinstance(result, Refused):
        raise result
    return result


def _enqueue(pk: int) -> None:
    from .tasks import process_envelope

    process_envelope(pk)
