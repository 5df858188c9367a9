"""Benchmark the monitor list page with 10,000 monitors: p50/p95 of repeated requests through Django's test
client (the whole view, template and database, without a network hop). Goal: p95 under 300 ms.

    python bench/monitor_list.py [--monitors 10000] [--results 100000] [--requests 40]

Uses a throw-away data directory and SQLite, or the database in KEEPWELL_DATABASE_URL (pass --create-tables
for an empty scratch database). Also times a monitor's own page with a full day of checks every 20 s.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def setup_django(create_tables=False):
    os.environ.setdefault("KEEPWELL_DATA_DIR", tempfile.mkdtemp(prefix="keepwell-bench-"))
    os.environ.setdefault("KEEPWELL_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "keepwell.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    if not os.environ.get("KEEPWELL_DATABASE_URL") or create_tables:
        from django.apps import apps

        # A scratch database: build every table straight from the models, as the test suite does.
        settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
        call_command("migrate", run_syncdb=True, verbosity=0)


def populate(n_monitors, n_results):
    from django.utils import timezone

    from keepwell.core.models import Membership, Organization, Service, User
    from keepwell.monitoring.models import CheckResult, Monitor

    rng = random.Random(7)
    suffix = f"{int(time.time())}"
    org = Organization.objects.create(slug=f"bench-{suffix}", name="Bench")
    user = User.objects.create_user(f"bench-{suffix}@example.org", "bench password 123")
    Membership.objects.create(organization=org, user=user, role="owner")
    services = [
        Service.objects.create(organization=org, name=f"Service {i}", slug=f"service-{i}") for i in range(40)
    ]
    now = timezone.now()
    statuses = ["up"] * 90 + ["down"] * 3 + ["pending"] * 3 + ["unreachable"] * 2 + ["paused"] * 2
    kinds = ["http"] * 7 + ["tcp", "dns", "tls"]
    monitors = [
        Monitor(
            organization=org,
            service=rng.choice(services),
            name=f"{rng.choice(['api', 'web', 'db', 'queue', 'cdn'])}-{i:05d}",
            kind=(kind := rng.choice(kinds)),
            target=f"https://host{i}.example.com/health" if kind == "http" else f"host{i}.example.com:443",
            status=(status := rng.choice(statuses)),
            paused=status == "paused",
            last_checked=now - timedelta(seconds=rng.randint(1, 60)),
            last_latency_ms=rng.randint(20, 900),
            last_error="Connection refused" if status == "down" else "",
            status_changed_at=now - timedelta(hours=rng.randint(1, 500)),
        )
        for i in range(n_monitors)
    ]
    Monitor.objects.bulk_create(monitors, batch_size=2000)
    ids = list(Monitor.objects.filter(organization=org).values_list("id", flat=True))
    results = (
        CheckResult(
            monitor_id=rng.choice(ids),
            checked_at=now - timedelta(seconds=rng.randint(0, 7 * 86400)),
            ok=rng.random() > 0.02,
            latency_ms=rng.randint(20, 900),
        )
        for _ in range(n_results)
    )
    CheckResult.objects.bulk_create(results, batch_size=5000)
    # One monitor checked every 20 s for a day: the heaviest monitor page.
    busy = Monitor.objects.get(pk=ids[0])
    CheckResult.objects.bulk_create(
        (
            CheckResult(
                monitor=busy,
                checked_at=now - timedelta(seconds=20 * k),
                ok=k % 97 != 0,
                latency_ms=rng.randint(30, 400),
            )
            for k in range(4320)
        ),
        batch_size=5000,
    )
    return org, user, busy, services


def timed(client, url, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--create-tables", action="store_true")
    args = parser.parse_args()
    setup_django(args.create_tables)

    from django.db import connection
    from django.test import Client

    started = time.perf_counter()
    org, user, busy, services = populate(args.monitors, args.results)
    print(f"database: {connection.vendor}; {args.monitors} monitors, {args.results + 4320} check results "
          f"created in {time.perf_counter() - started:.1f} s")  # fmt: skip
    client = Client()
    client.force_login(user)
    base = f"/o/{org.slug}/monitoring/"
    scenarios = [
        ("list, first page (down first)", base),
        ("list, page 100", base + "?page=100"),
        ("list, last page", base + "?page=last"),
        ("list, status=up", base + "?status=up"),
        ("list, one service", base + f"?service={services[3].slug}"),
        ("list, kind=tcp + search", base + "?kind=tcp&q=db-"),
        ("list, search by target", base + "?q=host4242"),
        ("monitor page, 4,320 checks in 24 h", base + f"monitors/{busy.pk}/"),
    ]
    client.get(base)  # warm up templates and connections
    worst = 0.0
    print(f"{'page':40} {'p50 ms':>8} {'p95 ms':>8}")
    for label, url in scenarios:
        p50, p95 = timed(client, url, args.requests)
        if label.startswith("list"):
            worst = max(worst, p95)
        print(f"{label:40} {p50:8.1f} {p95:8.1f}")
    print(f"worst list p95: {worst:.1f} ms (goal: under 300 ms) -> {'met' if worst < 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
