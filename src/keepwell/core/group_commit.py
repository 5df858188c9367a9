"""Group commits: one thread per process writes queued items in batches, each batch in one transaction.

The fast paths (heartbeat pings, Sentry envelopes) answer a request only once what it carries is committed.
A commit costs a round trip and, on PostgreSQL, a flush of the WAL to disk; one thread that commits every item
waiting when it is free pays that once per batch instead of once per request, and on SQLite it queues the
writers of this process in memory instead of leaving them to sleep in SQLite's busy handler.
"""

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future


class GroupCommitWriter:
    """Call `write_batch(items)` from one thread with every item waiting (up to MAX_BATCH) at once.

    `write_batch` returns one result per item, in order; an exception among them is raised to that item's
    caller (through its future), and an exception raised by `write_batch` itself goes to every caller of the
    batch. The thread starts on the first submit and keeps its database connection until `stop()`.
    """

    MAX_BATCH = 256

    def __init__(self, write_batch: Callable[[Sequence], list], name: str):
        self.write_batch = write_batch
        self.name = name
        self.queue = queue.SimpleQueue()
        self.thread = None
        self.lock = threading.Lock()

    def submit(self, item) -> Future:
        """Queue `item`; the future resolves to its result once its batch is committed."""
        future = Future()
        self.queue.put((future, item))
        if self.thread is None:
            with self.lock:
                if self.thread is None:
                    self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                    self.thread.start()
        return future

    def stop(self) -> None:
        """Let the writer thread finish what is queued, close its database connection and end."""
        with self.lock:
            thread, self.thread = self.thread, None
        if thread is not None:
            self.queue.put(None)
            thread.join(10)

    def _run(self):
        while True:
            first = self.queue.get()
            if first is None:
                from django.db import connections

                connections.close_all()
                return
            batch = [first]
            while len(batch) < self.MAX_BATCH:
                try:
                    entry = self.queue.get_nowait()
                except queue.Empty:
                    break
                if entry is None:
                    self.queue.put(None)  # stop after this batch
                    break
                batch.append(entry)
            try:
                results = self.write_batch([item for _, item in batch])
            except Exception as exc:  # noqa: BLE001 - a writer that dies would hang every request after it
                results = [exc] * len(batch)
            for (future, _), result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
