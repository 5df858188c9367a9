"""Benchmark the prober: 10,000 HTTP monitors at a 60 s interval against a local server, for a few minutes.

Prints checks/s, the scheduling lag (how late each check started after its due time) p50/p99, the prober's
CPU and peak RSS, and checks that every result was stored. Goal: lag p99 under 2 s, RSS under 400 MB.

    python bench/prober.py [--monitors 10000] [--interval 60] [--duration 180] [--concurrency 200] [--probers 1]

Uses a throw-away data directory and SQLite, or the database in KEEPWELL_DATABASE_URL (a scratch database:
its tables are built from the models and the bench's rows are left there). The target is a bare ASGI app
under uvicorn in a child process (its CPU is printed apart). Each prober is a process of its own that works
exactly as `keepwell prober` does (event loop, database threads, leases, record_result for every check);
with --probers 2 two of them share the monitors through leases, as two `keepwell prober` processes would.
"""

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


async def target_app(scope, receive, send):
    """The monitored service: answers every request with 200 and a short body."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def serve_target(port: int) -> None:
    import uvicorn

    uvicorn.run(
        target_app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_django(create: bool) -> None:
    os.environ.setdefault("KEEPWELL_DATA_DIR", tempfile.mkdtemp(prefix="keepwell-bench-"))
    os.environ["KEEPWELL_ALLOW_PRIVATE_TARGETS"] = "1"  # the target is on loopback
    os.environ.setdefault("KEEPWELL_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "keepwell.settings"
    import django

    django.setup()
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command

    if not create:
        return
    # A scratch database: build every table straight from the models, as the test suite does.
    settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0)


def seed(count: int, interval: int, url: str):
    """Create `count` monitors whose first checks are spread over one interval, as in a running install."""
    from django.utils import timezone

    from keepwell.core.models import Organization, Service
    from keepwell.monitoring.models import Monitor

    # An organization of its own per run, so that a reused scratch database holds earlier runs side by side.
    org = Organization.objects.create(slug=f"bench-{secrets.token_hex(4)}", name="Bench")
    service = Service.objects.create(organization=org, slug="bench", name="Bench")
    now = timezone.now() + timedelta(seconds=2)
    rng = random.Random(42)
    Monitor.objects.bulk_create(
        [
            Monitor(
                organization=org,
                service=service,
                name=f"bench {i}",
                kind="http",
                target=f"{url}/m/{i}",
                interval=interval,
                timeout=10,
                next_check_at=now + timedelta(seconds=rng.uniform(0, interval)),
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    return org


async def run(duration: float, concurrency: int):
    from keepwell.monitoring.prober import local, runner

    prober = runner.Prober(local.DatabaseBackend(runner.prober_name("bench")), concurrency=concurrency)
    stop = asyncio.Event()
    task = asyncio.create_task(prober.run(stop))
    await asyncio.sleep(duration)
    stop.set()
    await task
    await prober.backend.close()
    return prober


def child(duration: float, concurrency: int, out: str) -> None:
    """One prober process: run for `duration` seconds, write its lags and counts to `out`."""
    import logging

    setup_django(create=False)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    prober = asyncio.run(run(duration, concurrency))
    Path(out).write_text(
        json.dumps(
            {"checks": prober.stats.checks, "failures": prober.stats.failures, "lags": prober.stats.lags}
        )
    )


def cpu_seconds(usage) -> float:
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--interval", type=int, default=60, help="seconds between checks of a monitor")
    parser.add_argument("--duration", type=float, default=180, help="seconds to run (default: 3 minutes)")
    parser.add_argument("--concurrency", type=int, default=200, help="checks at once, per prober")
    parser.add_argument("--probers", type=int, default=1, help="prober processes sharing the work (leases)")
    args = parser.parse_args()

    port = free_port()
    target = subprocess.Popen([sys.executable, __file__, "--serve-target", str(port)])
    work = Path(tempfile.mkdtemp(prefix="keepwell-bench-out-"))
    probers = []
    try:
        setup_django(create=True)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        print(f"seeding {args.monitors} monitors every {args.interval} s ...", flush=True)
        org = seed(args.monitors, args.interval, f"http://127.0.0.1:{port}")
        from django.db import connection, connections

        vendor = connection.vendor
        connections.close_all()
        print(
            f"database: {vendor}; running {args.probers} prober process(es) for {args.duration:.0f} s ...",
            flush=True,
        )
        started = time.monotonic()
        for i in range(args.probers):
            out = str(work / f"prober{i}.json")
            cmd = [sys.executable, __file__, "--child", str(args.duration), str(args.concurrency), out]
            probers.append((subprocess.Popen(cmd), out))
        usages = [os.wait4(proc.pid, 0)[2] for proc, _ in probers]
        elapsed = time.monotonic() - started
    finally:
        for proc, _ in probers:
            if proc.poll() is None:
                proc.kill()
        target.terminate()
        _, _, target_usage = os.wait4(target.pid, 0)

    from keepwell.monitoring.models import CheckResult
    from keepwell.monitoring.prober.scheduler import percentile

    results = [json.loads(Path(out).read_text()) for _, out in probers]
    checks = sum(r["checks"] for r in results)
    failures = sum(r["failures"] for r in results)
    lags = [lag for r in results for lag in r["lags"]]
    stored = CheckResult.objects.filter(monitor__organization=org).count()
    cpu = sum(cpu_seconds(u) for u in usages)
    rss = [u.ru_maxrss / 1024 for u in usages]
    expected = args.monitors / args.interval
    print(f"checks:            {checks} in {elapsed:.0f} s, {failures} failed")
    print(f"checks/s:          {checks / elapsed:.1f} (the schedule asks for {expected:.1f})")
    print(
        f"lag p50 / p99:     {percentile(lags, 50):.3f} s / {percentile(lags, 99):.3f} s (max {max(lags):.3f} s)"
    )
    print(f"results stored:    {stored} ({'all' if stored == checks else 'NOT all'})")
    print(
        f"prober CPU:        {cpu:.1f} s = {100 * cpu / elapsed:.0f} % of one core ({args.probers} process(es))"
    )
    print(f"prober peak RSS:   {max(rss):.0f} MB per process ({sum(rss):.0f} MB together)")
    print(f"target server CPU: {cpu_seconds(target_usage):.1f} s (uvicorn, a separate process)")
    print(
        f"machine load:      {os.getloadavg()[0]:.1f} (1-minute average at the end, {os.cpu_count()} cores)"
    )
    ok = percentile(lags, 99) < 2 and sum(rss) < 400
    print(f"goal (lag p99 < 2 s, RSS < 400 MB): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve-target"]:
        serve_target(int(sys.argv[2]))
    elif sys.argv[1:2] == ["--child"]:
        child(float(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        main()
