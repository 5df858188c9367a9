"""The prober's asyncio loop: claim due checks, start each at its time, run many at once, report in batches.

The loop knows nothing of the database: a backend claims, reports and releases (DatabaseBackend in local.py,
in threads so the event loop never waits on a query; RemoteBackend in remote.py, over the hub's API). Status is
never decided here: the backend hands each outcome to keepwell.monitoring.state.record_result.
"""

import asyncio
import heapq
import itertools
import logging
import os
import secrets
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from . import scheduler
from .wire import Outcome

log = logging.getLogger("keepwell.prober")

# A check gets its own timeout plus this before the loop gives up on it (a probe that ignores its timeout).
TIMEOUT_GRACE = 5.0
# On stop, how long a claim in flight may take to come back before it is abandoned (its leases then expire).
CLAIM_GRACE = 5.0
# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms).
SWITCH_INTERVAL = 0.0005
# Outcomes not yet reported are kept up to this many while the hub or database does not answer.
MAX_UNREPORTED = 50_000


def prober_name(location: str = "local") -> str:
    """Return a name for this prober process that no other prober has: host, pid and a random part."""
    return f"{location}@{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _remember_that_sniffio_is_absent() -> None:
    """Let httpcore's `import sniffio`, tried for every connection, fail at once instead of searching sys.path."""
    import importlib.util
    import sys

    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # Python's marker for "known to be missing"; httpcore assumes asyncio


def check_client():
    """Return the httpx client a prober's HTTP checks share: one TLS context, no kept connections or cookies.

    No connection is kept alive, so each check opens its own and measures DNS, connect and TLS as curl would,
    and httpcore's pool (which scans its connections for every request) stays as small as the checks in
    flight. No cookie is kept, so one monitor's cookies never reach another's request. Building the TLS context
    (loading the system's CAs) is the expensive part, so that is done once.
    """
    import http.cookiejar

    import httpx

    from ..probes_net import tls_context

    _remember_that_sniffio_is_absent()
    return httpx.AsyncClient(
        verify=tls_context(None),
        follow_redirects=False,
        trust_env=False,
        cookies=http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[])),
        timeout=None,  # each check's own timeout bounds it (probes.run_check)
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
    )


class FatalError(Exception):
    """The prober cannot go on (its token was refused): stop with this message."""


class Prober:
    """Run due checks until `stop` is set: at most `concurrency` at a time, each as close to its time as it can."""

    def __init__(
        self,
        backend,
        *,
        concurrency: int = 200,
        max_pending: int = 1000,
        claim_every: float = 0.5,
        report_every: float = 0.25,
        report_batch: int = 250,
        check: Callable[..., Awaitable] | None = None,
    ):
        self.backend = backend
        self.concurrency = concurrency
        self.max_pending = max_pending
        self.claim_every = claim_every
        self.report_every = report_every
        self.report_batch = report_batch
        self.check = check or self._probe
        self.client = None
        self.stats = scheduler.LagStats()
        self._heap: list = []  # (due, sequence, assignment)
        self._sequence = itertools.count()
        self._queued: set[int] = set()
        self._running: set[int] = set()
        self._outbox: list = []
        self._unreported: set[int] = set()  # checked, result not yet with the backend: not to be run again
        self._wake = asyncio.Event()
        self._flush = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task] = set()
        self.fatal: str | None = None

    async def _probe(self, kind, target, config, timeout):
        """Run one check with the monitoring app's probes (imported late: a remote prober has no database)."""
        from ..probes import run_check

        if kind != "http":
            return await run_check(kind, target, config, timeout)
        if self.client is None:
            self.client = check_client()
        return await run_check(kind, target, config, timeout, client=self.client)

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set, then give back unstarted checks, finish running ones and report them."""
        # The database threads give up the GIL on every query and, by default, wait up to 5 ms to get it back
        # from a busy event loop: ten queries a check made the database side, not the CPU, the limit.
        previous_switch = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        claimer = asyncio.create_task(self._claimer(stop), name="prober-claim")
        dispatcher = asyncio.create_task(self._dispatcher(stop), name="prober-dispatch")
        reporter = asyncio.create_task(self._reporter(stop), name="prober-report")
        try:
            await stop.wait()
        finally:
            self._wake.set()
            dispatcher.cancel()
            # A claim in flight is let finish (it would hold its leases for half a minute otherwise); what it
            # brings is given back below with the other unstarted checks.
            await asyncio.wait({claimer}, timeout=CLAIM_GRACE)
            claimer.cancel()
            await asyncio.gather(claimer, dispatcher, return_exceptions=True)
            unstarted = [a.id for _, _, a in self._heap]
            self._heap.clear()
            self._queued.clear()
            if unstarted:
                await self._quietly(self.backend.release(unstarted), "give back unstarted checks")
            if self._tasks:
                await asyncio.wait(set(self._tasks))
            self._flush.set()
            await reporter
            await self._quietly(self._send_outbox(), "report the last results")
            sys.setswitchinterval(previous_switch)
            if self.client is not None:
                await self.client.aclose()
                self.client = None

    async def _quietly(self, coroutine, what: str):
        try:
            return await coroutine
        except Exception as exc:
            log.warning("could not %s: %s", what, exc)
            return None

    def _fail(self, message: str, stop: asyncio.Event) -> None:
        self.fatal = message
        log.error("%s", message)
        stop.set()

    async def _claimer(self, stop: asyncio.Event) -> None:
        backoff = self.claim_every
        while not stop.is_set():
            room = self.max_pending - len(self._queued) - len(self._running)
            # Back-pressure: while results pile up unreported (the database is slower than the checks), leave
            # due checks unclaimed, for another prober or for later, rather than lease what we cannot finish.
            if len(self._outbox) >= 2 * self.report_batch:
                room = 0
            if room > 0:
                try:
                    claimed = await self.backend.claim(room)
                    backoff = self.claim_every
                except FatalError as exc:
                    return self._fail(str(exc), stop)
                except Exception as exc:
                    claimed = []
                    backoff = min(backoff * 2, 30.0)
                    log.warning("could not claim checks (retrying in %.1f s): %s", backoff, exc)
                for assignment in claimed:
                    if (
                        assignment.id in self._queued
                        or assignment.id in self._running
                        or (assignment.id in self._unreported)
                    ):
                        continue  # still queued, running or unreported from an earlier claim
                    self._queued.add(assignment.id)
                    heapq.heappush(self._heap, (assignment.due, next(self._sequence), assignment))
                if claimed:
                    self._wake.set()
                # A full claim means more is due now: ask again at once.
                if len(claimed) >= room:
                    await asyncio.sleep(0)
                    continue
            try:
                await asyncio.wait_for(stop.wait(), timeout=backoff)
            except TimeoutError:
                pass

    async def _dispatcher(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self._heap:
                self._wake.clear()
                await self._wake.wait()
                continue
            delay = (self._heap[0][0] - utcnow()).total_seconds()
            if delay > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=min(delay, 1.0))
                except TimeoutError:
                    pass
                continue
            entry = heapq.heappop(self._heap)
            assignment = entry[2]
            try:
                await self._slots.acquire()
            except asyncio.CancelledError:
                heapq.heappush(self._heap, entry)  # stopping: it is given back with the unstarted ones
                raise
            self._queued.discard(assignment.id)
            self._running.add(assignment.id)
            task = asyncio.create_task(self._run_one(assignment))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_one(self, assignment) -> None:
        started = utcnow()
        began = time.perf_counter()
        try:
            result = await asyncio.wait_for(
                self.check(assignment.kind, assignment.target, assignment.config, assignment.timeout),
                timeout=assignment.timeout + TIMEOUT_GRACE,
            )
            outcome = Outcome(
                id=assignment.id,
                ok=bool(result.ok),
                due=assignment.due,
                started=started,
                latency_ms=result.latency_ms,
                status_code=result.status_code,
                error=result.error or "",
            )
        except Exception as exc:  # a probe must never take the loop down
            outcome = Outcome(
                id=assignment.id,
                ok=False,
                due=assignment.due,
                started=started,
                latency_ms=round((time.perf_counter() - began) * 1000),
                error=f"The check could not run: {type(exc).__name__}: {exc}"[:500],
            )
        finally:
            self._slots.release()
            self._running.discard(assignment.id)
        self.stats.add(scheduler.lag_seconds(assignment.due, started), outcome.ok)
        self._outbox.append(outcome)
        self._unreported.add(outcome.id)
        if len(self._outbox) >= self.report_batch:
            self._flush.set()

    async def _reporter(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(self._flush.wait(), timeout=self.report_every)
            except TimeoutError:
                pass
            self._flush.clear()
            try:
                await self._send_outbox()
            except FatalError as exc:
                return self._fail(str(exc), stop)

    async def _send_outbox(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox[: self.report_batch], self._outbox[self.report_batch :]
            try:
                await self.backend.report(batch)
            except FatalError:
                raise
            except Exception as exc:
                log.warning("could not report %d results (will retry): %s", len(batch), exc)
                self._outbox = batch + self._outbox
                for dropped in self._outbox[:-MAX_UNREPORTED]:
                    self._unreported.discard(dropped.id)
                self._outbox = self._outbox[-MAX_UNREPORTED:]
                return
            self._unreported.difference_update(o.id for o in batch)
