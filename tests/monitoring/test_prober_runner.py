"""The local prober loop against a real HTTP server on loopback: on time, bounded, shared without double checks."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone
from prober_server import CountingServer

from keepwell.core.models import Finding
from keepwell.monitoring.models import CheckResult, Monitor
from keepwell.monitoring.prober import local, runner

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(settings):
    settings.ALLOW_PRIVATE_TARGETS = True
    s = CountingServer()
    yield s
    s.close()


def monitors(service, server, count, *, interval=1, offset=0.0):
    now = timezone.now()
    return [
        Monitor.objects.create(
            organization=service.organization,
            service=service,
            name=f"m{i}",
            target=f"{server.url}/m{i}",
            interval=interval,
            timeout=2,
            retries=1,
            next_check_at=now + timedelta(seconds=offset),
        )
        for i in range(count)
    ]


async def run_probers(probers, until, limit=15.0):
    """Run `probers` until until() is true (checked every 50 ms) or `limit` seconds pass; then stop them."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(p.run(stop)) for p in probers]
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not await asyncio.to_thread(_quietly, until):
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*tasks)
    for p in probers:
        await p.backend.close()
    await asyncio.to_thread(connections.close_all)


def _quietly(until):
    try:
        return until()
    except OperationalError:  # SQLite's shared in-memory test database: a table locked by the prober's thread
        return False


def local_prober(executor=None, **options):
    options.setdefault("claim_every", 0.1)
    options.setdefault("report_every", 0.05)
    backend = local.DatabaseBackend(runner.prober_name(), horizon=1.0, executor=executor)
    return runner.Prober(backend, **options)


def test_the_local_prober_checks_each_monitor_every_interval(service, server):
    ms = monitors(service, server, 5)
    prober = local_prober()
    started = time.monotonic()
    asyncio.run(run_probers([prober], until=lambda: CheckResult.objects.count() >= 15))
    elapsed = time.monotonic() - started
    assert CheckResult.objects.count() >= 15
    for m in ms:
        m.refresh_from_db()
        assert m.status == "up" and m.lease_owner == ""
        # One check a second, give or take the jitter: about elapsed + 1 checks, never a burst.
        assert 2 <= server.count(f"/m{ms.index(m)}") <= elapsed + 2
    assert prober.stats.checks == CheckResult.objects.count()
    assert prober.stats.summary()["lag_p99"] < 1.0


def test_a_failing_monitor_goes_down_and_raises_a_finding(service, server):
    (m,) = monitors(service, server, 1)
    server.statuses["/m0"] = 503
    asyncio.run(
        run_probers([local_prober()], until=lambda: Monitor.objects.filter(pk=m.pk, status="down").exists())
    )
    m.refresh_from_db()
    assert m.status == "down"
    assert "503" in m.last_error
    assert Finding.objects.filter(source="monitoring", key=f"monitor:{m.pk}", state="open").exists()


def test_concurrency_is_bounded(service, server):
    # Ten monitors due at once, two slots: never more than two checks run at a time.
    in_flight, peak = 0, 0

    # A real check, wrapped to measure how many run at once.
    prober = local_prober(concurrency=2)
    real = prober.check

    async def measured(kind, target, config, timeout):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.02)
            return await real(kind, target, config, timeout)
        finally:
            in_flight -= 1

    prober.check = measured
    monitors(service, server, 10, interval=60)
    asyncio.run(run_probers([prober], until=lambda: CheckResult.objects.count() >= 10))
    assert CheckResult.objects.count() == 10
    assert peak == 2


def test_two_probers_share_the_monitors_and_never_check_one_twice(service, server):
    ms = monitors(service, server, 40, interval=60)  # one check each in this test
    # On PostgreSQL each prober has its own connection and they really race (SKIP LOCKED); SQLite's in-memory
    # test database cannot take two writers, so there they share one (as BEGIN IMMEDIATE serializes them anyway).
    shared = None if connection.vendor == "postgresql" else ThreadPoolExecutor(1)
    a, b = local_prober(shared, max_pending=8), local_prober(shared, max_pending=8)
    asyncio.run(run_probers([a, b], until=lambda: CheckResult.objects.count() >= 40))
    if shared:
        shared.shutdown()
    time.sleep(0.3)  # a double check would land now
    assert CheckResult.objects.count() == 40
    assert all(server.count(f"/m{i}") == 1 for i in range(len(ms)))
    assert a.stats.checks > 0 and b.stats.checks > 0
    assert a.stats.checks + b.stats.checks == 40


def test_a_stopped_prober_gives_back_what_it_did_not_start(service, server):
    ms = monitors(service, server, 3, interval=60, offset=0.8)  # claimed (horizon 1 s) but not yet due
    prober = local_prober()
    asyncio.run(
        run_probers([prober], until=lambda: Monitor.objects.exclude(lease_owner="").count() == 3, limit=5)
    )
    assert prober.stats.checks == 0
    assert not Monitor.objects.filter(pk__in=[m.pk for m in ms]).exclude(lease_owner="").exists()


def test_no_monitor_receives_the_cookies_another_monitor_was_given(service, server):
    server.set_cookies["/m0"] = "session=secret-of-m0; Path=/"
    first, second = monitors(service, server, 2, interval=60)
    Monitor.objects.filter(pk=second.pk).update(next_check_at=timezone.now() + timedelta(seconds=0.5))
    asyncio.run(run_probers([local_prober()], until=lambda: CheckResult.objects.count() >= 2))
    assert server.count("/m0") == server.count("/m1") == 1
    assert server.cookies_seen == []
