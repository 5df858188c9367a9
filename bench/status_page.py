"""Benchmark a public status page: the cost of building it (cache miss) and of serving it from the cache.

    python bench/status_page.py [--components 20] [--monitors 5] [--requests 2000]

Builds a page of N components x M monitors, each with 90 days of daily rollups, and 10 incidents with
updates, in a throw-away data directory (SQLite) or the database in KEEPWELL_DATABASE_URL (pass
--create-tables for an empty scratch database). Prints the build time (p50 of 5 cold renders, with its
query count) and cached requests/s with the queries they cost, through Django's full request stack.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def setup_django(create_tables=False):
    os.environ.setdefault("KEEPWELL_DATA_DIR", tempfile.mkdtemp(prefix="keepwell-bench-"))
    os.environ.setdefault("KEEPWELL_LOG_LEVEL", "WARNING")
    os.environ.setdefault("KEEPWELL_ALLOWED_HOSTS", "testserver")
    os.environ["DJANGO_SETTINGS_MODULE"] = "keepwell.settings"
    import django

    django.setup()
    from django.core.management import call_command

    if not os.environ.get("KEEPWELL_DATABASE_URL") or create_tables:
        from django.apps import apps
        from django.conf import settings

        settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
        call_command("migrate", run_syncdb=True, verbosity=0)


def build(components: int, monitors: int):
    from datetime import timedelta

    from django.utils import timezone

    from keepwell.core.models import Organization, Service
    from keepwell.monitoring.models import Incident, Monitor, Rollup, StatusComponent, StatusPage

    now = timezone.now()
    org = Organization.objects.create(slug=f"bench-{int(time.time())}", name="Bench")
    service = Service.objects.create(organization=org, name="Shop", slug="shop")
    page = StatusPage.objects.create(organization=org, slug=org.slug, title="Bench status")
    for c in range(components):
        component = StatusComponent.objects.create(page=page, name=f"Component {c}", position=c)
        rows = []
        for m in range(monitors):
            monitor = Monitor.objects.create(
                organization=org, service=service, name=f"M{c}-{m}", target="https://example.com", status="up"
            )
            component.monitors.add(monitor)
            day = now.replace(hour=0, minute=0, second=0, microsecond=0)
            rows += [
                Rollup(
                    monitor=monitor, period="day", start=day - timedelta(days=d), checks=1440, failures=d % 3
                )
                for d in range(1, 90)
            ]
        Rollup.objects.bulk_create(rows)
    for i in range(10):
        incident = Incident.objects.create(page=page, title=f"Incident {i}", started=now - timedelta(days=i))
        for status in ("investigating", "identified", "resolved" if i else "monitoring"):
            incident.add_update(status, f"Update on incident {i}: {status}.")
    return page


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=20)
    parser.add_argument("--monitors", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--create-tables", action="store_true")
    args = parser.parse_args()
    setup_django(args.create_tables)
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    page = build(args.components, args.monitors)
    url = f"/status/{page.slug}/"
    client = Client()
    cold = []
    for _ in range(5):
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            cold.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as cached_queries:
        started = time.perf_counter()
        for _ in range(args.requests):
            client.get(url)
        elapsed = time.perf_counter() - started
    print(f"page: {args.components} components x {args.monitors} monitors, 90 days each, 10 incidents")
    print(f"cache miss: p50 {statistics.median(cold) * 1000:.1f} ms, {len(queries)} queries")
    print(
        f"cached: {args.requests / elapsed:.0f} requests/s in one process, "
        f"{len(cached_queries)} queries for {args.requests} requests"
    )


if __name__ == "__main__":
    main()
