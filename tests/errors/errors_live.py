"""A live keepwell on loopback for the SDK tests: the ASGI application (with the ingestion fast path, as
`keepwell serve` runs it) under uvicorn in a thread, and a small client for its JSON API.

The job that processes the spool runs in the test's thread (`process()`), as a worker would run it, rather
than inside the server: the test database is SQLite in memory shared between threads, which refuses a second
writer at once instead of waiting for it as the database file does, so a job writing while the server
answers the SDK would fail there (and only there)."""

import time

import httpx

from keepwell.core.models import ApiToken
from keepwell.errors.models import Dsn
from uvicorn_server import UvicornServer


class LiveKeepwell(UvicornServer):
    """keepwell under uvicorn on 127.0.0.1 at a free port."""

    def __init__(self):
        from keepwell.asgi import pings as application
        from keepwell.errors.ingest_asgi import SentryIngestFastPath

        app = SentryIngestFastPath(application)
        super().__init__(app, close=app.close)

    def process(self) -> int:
        """Run the job that processes the spool, as a worker would; return the events it stored."""
        from keepwell.errors import tasks

        return tasks.process_spool_job.call_local()

    def dsn(self, service) -> str:
        """Return a new DSN of `service` pointing at this server."""
        from django.conf import settings

        settings.BASE_URL = self.url
        return Dsn.issue(service, rate_limit=0).dsn

    def api(self, organization, user) -> httpx.Client:
        """Return an HTTP client for /api/v1 with a read-write token of `user`."""
        _, token = ApiToken.issue(organization, user, write=True)
        return httpx.Client(
            base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )


def wait_until(check, timeout: float = 15.0, interval: float = 0.05):
    """Poll `check()` until it returns something true; return it (fail after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting for keepwell to process the events"
        time.sleep(interval)
