"""The local backend of the prober loop: claim and complete checks in the hub's own database."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial


class DatabaseBackend:
    """Claim and complete checks in the hub's database, from threads of its own.

    Claims and reports each have a thread (so a database connection): the event loop never waits on a query,
    and a claim never waits behind a large batch of results.
    """

    def __init__(
        self, owner: str, *, location: str = "local", organization=None, horizon: float = 2.0, executor=None
    ):
        self.owner = owner
        self.location = location
        self.organization = organization
        self.horizon = horizon
        self.own_executor = executor is None
        self.claims = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="prober-claim")
        self.reports = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="prober-report")

    async def _call(self, executor, fn, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(executor, partial(fn, *args, **kwargs))

    async def claim(self, limit: int):
        from . import leases

        return await self._call(
            self.claims,
            leases.claim,
            self.owner,
            location=self.location,
            organization=self.organization,
            limit=limit,
            horizon=self.horizon,
        )

    async def report(self, outcomes) -> None:
        from . import leases

        await self._call(
            self.reports,
            leases.complete,
            self.owner,
            outcomes,
            location=self.location,
            organization=self.organization,
        )

    async def release(self, ids) -> None:
        from . import leases

        await self._call(
            self.claims,
            leases.release,
            self.owner,
            ids,
            location=self.location,
            organization=self.organization,
        )

    async def close(self) -> None:
        from django.db import connections

        if self.own_executor:
            for executor in (self.claims, self.reports):
                await self._call(executor, connections.close_all)
                executor.shutdown(wait=True)
