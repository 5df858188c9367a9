"""The fast path for /ping/<uuid>[/start|/fail|/log|/<exit status>]: an ASGI wrapper in front of Django.

Cron jobs ping all day, so a ping must cost little: this answers the common ping without Django's request
machinery (no middleware, sessions, URL resolving or ORM query building). It reads the body and hands the
ping to the writer thread (ping_writer), which commits it in raw SQL before the answer goes out, so an
answered ping is durable.

Anything else goes to Django unchanged, with the body replayed: slug URLs, malformed input (Django answers
the clear 4xx), unknown UUIDs, and every ping that opens or resolves a finding (views_ping does those, with
the same state rules from schedules.apply_ping).
"""

import asyncio
import re
import time
import uuid as uuid_module
from urllib.parse import parse_qs

from keepwell.core import clientip

from . import schedules
from .ping_writer import Fallback, Writer

PATH = re.compile(
    r"^/ping/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:/(start|fail|log|[0-9]{1,3}))?$"
)
KINDS = {None: "success", "start": "start", "fail": "fail", "log": "log"}


def _parse(scope) -> dict | None:
    """Return what the fast path needs from the request, or None when Django should answer it."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD", "POST"):
        return None
    match = PATH.match(scope["path"])
    if match is None:
        return None
    code, suffix = match.groups()
    exit_status = None
    if suffix is not None and suffix not in KINDS:
        if int(suffix) > schedules.MAX_EXIT_STATUS:
            return None  # Django answers the 400
        exit_status = int(suffix)
    rid = None
    if scope.get("query_string"):
        query = parse_qs(scope["query_string"].decode("latin-1"))
        if "rid" in query:
            try:
                rid = uuid_module.UUID(query["rid"][0][:100])
            except ValueError:
                return None  # Django answers the 400
    headers = {}
    for name, value in scope.get("headers", ()):
        if name in (b"user-agent", b"ping-body-limit"):
            headers[name] = value.decode("latin-1")
    return {
        "uuid": uuid_module.UUID(code),
        "kind": KINDS.get(suffix, "success"),
        "exit_status": exit_status,
        "rid": rid,
        "method": scope["method"],
        "remote_addr": clientip.from_scope(scope),
        "user_agent": headers.get(b"user-agent", "")[:200],
        "limit_header": headers.get(b"ping-body-limit"),
    }


class PingFastPath:
    """Wrap the ASGI application: answer plain UUID pings here, hand everything else to `app`."""

    def __init__(self, app):
        self.app = app
        self.writer = Writer()

    async def __call__(self, scope, receive, send):
        request = _parse(scope) if scope["type"] == "http" else None
        if request is None:
            return await self.app(scope, receive, send)
        from django.conf import settings

        started = time.perf_counter()
        limit = schedules.body_limit(request["limit_header"], settings.PING_BODY_LIMIT)
        kept, total, messages = bytearray(), 0, []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if len(kept) <= limit:
                kept += chunk[: limit + 1 - len(kept)]
            if not message.get("more_body"):
                break
        body = bytes(kept[:limit]) if request["method"] == "POST" else b""
        truncated = request["method"] == "POST" and total > limit
        loop = asyncio.get_running_loop()
        try:
            deadline = await asyncio.wrap_future(self.writer.submit(request, body, truncated))
        except Fallback:
            # Replay what was read (enough for the view's limit) to Django.
            messages.append({"type": "http.request", "body": bytes(kept), "more_body": False})
            return await self.app(scope, _replay(messages, receive), send)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"Content-Type", b"text/plain; charset=utf-8"),
                    (b"Content-Length", b"2"),
                    (b"Ping-Body-Limit", str(limit).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"OK"})
        _observe(request["method"], time.perf_counter() - started)
        if deadline is not None and deadline.timestamp() - time.time() <= 60:
            await loop.run_in_executor(None, _schedule_pass, deadline.timestamp())


def _replay(messages, receive):
    async def replayed():
        if messages:
            return messages.pop(0)
        return await receive()

    return replayed


def _observe(method: str, seconds: float) -> None:
    from keepwell.core import metrics

    metrics.observe_request(method, 200, seconds)


def _schedule_pass(at: float) -> None:
    from .heartbeat_tasks import schedule_heartbeats_pass

    schedule_heartbeats_pass(at)
