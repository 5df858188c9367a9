"""The fast path for Sentry ingestion (/api/<project_id>/envelope/ and /store/): an ASGI wrapper before Django.

Django's ASGI handler reads a whole request body before any view runs, so a 50 MB body would be read just to
be refused. Here the declared length and the key are checked before reading, the body is decompressed chunk
by chunk through the caps, and the first byte over a cap ends the request with a 413. The checks are the
same functions the Django views call (ingest.authenticate, ingest.check), run in a small thread pool that
keeps its database connections open between requests. The spool write is a group commit: one writer thread
(keepwell.core.group_commit) spools every envelope waiting when it is free in one transaction
(ingest.spool_batch), and each request is answered once its batch is committed. Envelopes over
GROUP_MAX_BODY are spooled by their pool thread in a transaction of their own.
"""

import asyncio
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from keepwell.core import clientip
from keepwell.core.group_commit import GroupCommitWriter

from .ingest_body import BodyTooLarge, BodyUnreadable

log = logging.getLogger(__name__)

PATH = re.compile(r"^/api/([0-9]{1,18})/(envelope|store)/$")
THREADS = 4
GROUP_MAX_BODY = 256 * 1024  # bytes: larger envelopes are not group-committed


def _run_with_connection(fn, *args, **kwargs):
    """Call `fn` in a pool thread, keeping the thread's database connection open between calls.

    A connection that broke while idle (the database restarted) is closed, and `fn` tried once more on a new
    one: its transaction was rolled back, and a second copy of an event is dropped as a duplicate anyway.
    """
    from django.db import InterfaceError, OperationalError, connection

    try:
        return fn(*args, **kwargs)
    except (InterfaceError, OperationalError):
        connection.close()
        if connection.vendor == "sqlite":
            raise  # "database is locked" after the busy timeout: trying again would only wait longer
        return fn(*args, **kwargs)


class SentryIngestFastPath:
    """Wrap the ASGI application: answer Sentry ingestion here, hand everything else to `app`."""

    def __init__(self, app, threads: int = THREADS):
        self.app = app
        self.threads = threads
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sentry-ingest")
        self.writer = GroupCommitWriter(self._write_batch, name="sentry-spool")
        # Queueing the job is left to one thread of its own, after the commit: the answer does not wait for
        # the job queue's own commit. Should the process die first, the spool sweep queues the envelope.
        self.enqueuer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sentry-enqueue")
        self._enqueue_lock = threading.Lock()
        self._enqueue_id = None  # the highest spool id committed and not yet handed to the job

    def close(self) -> None:
        """Close every pool thread's database connection (so a test database can be dropped)."""
        import threading

        from django.db import connection

        barrier = threading.Barrier(self.threads, timeout=10)

        def close_one():
            barrier.wait()  # holds each thread until all have a task: every thread closes its own
            connection.close()

        for future in [self.executor.submit(close_one) for _ in range(self.threads)]:
            future.result()
        self.writer.stop()
        self.enqueuer.submit(lambda: connection.close()).result()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "OPTIONS"):
            return await self.app(scope, receive, send)
        match = PATH.match(scope["path"])
        if match is None:
            return await self.app(scope, receive, send)
        from . import ingest  # here, not at import time: this module loads before Django is set up

        started = time.perf_counter()
        if scope["method"] == "OPTIONS":
            answer = ingest.Answer(200, {})
        else:
            try:
                answer = await self._post(scope, receive, int(match.group(1)), match.group(2))
            except ingest.Refused as refused:
                answer = refused.answer
            except Exception:
                log.exception("Sentry ingestion failed")
                answer = ingest.Answer(
                    500, {"detail": "keepwell could not store this envelope; the SDK may send it again."}
                )
        await _send(send, answer)
        _observe(scope["method"], answer.status, time.perf_counter() - started)

    async def _call(self, fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: _run_with_connection(fn, *args, **kwargs))

    async def _post(self, scope, receive, project_id: int, endpoint: str):
        from . import ingest

        headers = {}
        for name, value in scope.get("headers", ()):
            if name in (b"x-sentry-auth", b"authorization", b"content-encoding", b"content-length"):
                headers[name.decode()] = value.decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        public_key = ingest.key_from_request(headers, query)
        # Refuse a declared length over the cap and a wrong key before reading a byte of the body.
        decoder = ingest.decoder(headers.get("content-encoding"), headers.get("content-length"))
        dsn = await self._call(ingest.authenticate, project_id, public_key) if public_key else None
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ingest.Refused(400, "The client went away before sending the whole body.")
                decoder.feed(message.get("body", b""))
                if not message.get("more_body"):
                    break
            body = decoder.finish()
        except BodyTooLarge as exc:
            raise ingest.Refused(413, str(exc)) from None
        except BodyUnreadable as exc:
            raise ingest.Refused(400, str(exc)) from None
        ip = ingest.client_ip(clientip.from_scope(scope))
        pending = await self._call(ingest.check, project_id, endpoint, body, public_key, ip, dsn=dsn)
        if isinstance(pending, ingest.Answer):
            return pending
        if len(pending.body) > GROUP_MAX_BODY:
            # A large envelope is spooled in its own transaction by the pool thread: a batch of them would
            # hold all their bodies in one statement, and the writer would send them one after another.
            result = (await self._call(ingest.spool_batch, [pending], enqueue=self._enqueue_later))[0]
        else:
            result = await asyncio.wrap_future(self.writer.submit(pending))
        if isinstance(result, ingest.Refused):
            raise result
        return result

    def _write_batch(self, pendings: list) -> list:
        """Spool `pendings` in one transaction (in the writer thread); return per envelope its result."""
        from django.db import DataError, IntegrityError

        from . import ingest

        try:
            return _run_with_connection(ingest.spool_batch, pendings, enqueue=self._enqueue_later)
        except (DataError, IntegrityError):
            if len(pendings) == 1:
                raise
        # One envelope the database refuses must not fail the others: spool each on its own.
        results = []
        for pending in pendings:
            try:
                results += _run_with_connection(ingest.spool_batch, [pending], enqueue=self._enqueue_later)
            except Exception as exc:  # noqa: BLE001 - answered as a 500 to that envelope's request only
                log.exception("could not spool an envelope")
                results.append(exc)
        return results

    def _enqueue_later(self, spool_id: int) -> None:
        """Hand spool rows up to `spool_id` to the job, from the enqueuer thread.

        The commits that land while that thread is busy cost one call (with the highest id) between them, not
        one each: a job queued (or already waiting) after their commits drains all of them.
        """
        with self._enqueue_lock:
            idle = self._enqueue_id is None
            self._enqueue_id = spool_id if idle else max(self._enqueue_id, spool_id)
        if idle:
            self.enqueuer.submit(self._enqueue_latest)

    def _enqueue_latest(self) -> None:
        with self._enqueue_lock:
            spool_id, self._enqueue_id = self._enqueue_id, None
        _enqueue(spool_id)


def _enqueue(spool_id: int) -> None:
    from .ingest import _enqueue as enqueue

    try:
        enqueue(spool_id)
    except Exception:  # the sweep queues what is left in the spool after a minute
        log.exception("could not queue spooled envelope %s; the spool sweep will", spool_id)


async def _send(send, answer) -> None:
    from .ingest import CORS_HEADERS

    content = answer.content()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        *((name.lower().encode(), value.encode("latin-1")) for name, value in CORS_HEADERS.items()),
        *(
            (name.lower().encode(), value.encode("latin-1", "replace"))
            for name, value in answer.headers.items()
        ),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def _observe(method: str, status: int, seconds: float) -> None:
    from keepwell.core import metrics

    metrics.observe_request(method, status, seconds)


def make_application():
    """Return keepwell's ASGI application with the ingestion fast path in front (for uvicorn --factory)."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keepwell.settings")
    from keepwell.asgi import application

    return application if isinstance(application, SentryIngestFastPath) else SentryIngestFastPath(application)
