"""Benchmark the alerting machinery: raise 10,000 findings across 100 services and deliver the grouped
notifications to a webhook receiver on loopback. Prints findings/s, notifications/s and the delay from
raise to delivery (p50, p99).

    python bench/alerting.py [--findings 10000] [--services 100] [--group-window 5] [--timeout 300]

Uses a throw-away data directory and SQLite, or the database in KEEPWELL_DATABASE_URL (its tables must
exist: run `keepwell manage migrate` first, or pass --create-tables for an empty scratch database). A child process raises findings the way practices do while this
process runs the alerting pass in a loop, as a worker does; only loopback is contacted.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def setup_django(create_tables=False):
    os.environ.setdefault("KEEPWELL_DATA_DIR", tempfile.mkdtemp(prefix="keepwell-bench-"))
    os.environ["KEEPWELL_ALLOW_PRIVATE_TARGETS"] = "1"  # the receiver is on loopback
    os.environ.setdefault("KEEPWELL_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "keepwell.settings"
    import django

    django.setup()
    from django.core.management import call_command

    if not os.environ.get("KEEPWELL_DATABASE_URL") or create_tables:
        from django.apps import apps
        from django.conf import settings

        # A scratch database: build every table straight from the models, as the test suite does.
        settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
        call_command("migrate", run_syncdb=True, verbosity=0)


class Receiver:
    """A webhook receiver that notes when each finding's notification arrived."""

    def __init__(self):
        self.arrived = {}  # finding id -> time.time() of arrival
        self.notifications = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.time()
                payload = json.loads(body)
                with receiver.lock:
                    receiver.notifications += 1
                    for f in payload["findings"]:
                        receiver.arrived.setdefault(f["id"], now)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def produce(org_slug, count):
    """Raise `count` findings across the organization's services; print how many and how long it took."""
    from keepwell.core import findings
    from keepwell.core.models import Service

    services = list(Service.objects.filter(organization__slug=org_slug).order_by("id"))
    started = time.perf_counter()
    for i in range(count):
        findings.raise_finding(
            services[i % len(services)],
            source="bench",
            key=f"check:{i}",
            title=f"Check {i} failed",
            severity=("info", "warning", "critical")[i % 3],
        )
    print(count, time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=10_000)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--group-window", type=int, default=5, help="seconds (the product default is 30)")
    parser.add_argument("--timeout", type=int, default=300, help="give up after this many seconds")
    parser.add_argument("--verbose", action="store_true", help="print each pass's figures")
    parser.add_argument(
        "--create-tables",
        action="store_true",
        help="build the tables in an empty KEEPWELL_DATABASE_URL database",
    )
    parser.add_argument("--produce", metavar="ORG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    setup_django(args.create_tables and not args.produce)
    if args.produce:
        return produce(args.produce, args.findings)

    from django.db import connection

    from keepwell.core.alerting import run_pass
    from keepwell.core.models import Channel, Finding, Notification, Organization, RoutingRule, Service

    receiver = Receiver()
    org = Organization.objects.create(slug=f"bench-{int(time.time())}", name="Bench")
    channel = Channel.objects.create(organization=org, name="Bench hook", kind="webhook", target=receiver.url)
    services = Service.objects.bulk_create(
        [Service(organization=org, name=f"Service {i}", slug=f"service-{i}") for i in range(args.services)]
    )
    # One rule per service, as teams route each service to its owners: a burst becomes one message each.
    for s in services:
        rule = RoutingRule.objects.create(
            organization=org, name=s.name, service=s, min_severity="info", group_window=args.group_window
        )
        rule.channels.add(channel)

    deadline = time.monotonic() + args.timeout
    # Practices raise findings in other processes (web, prober) than the worker that alerts: so here too.
    producer = subprocess.Popen(
        [sys.executable, __file__, "--produce", org.slug, "--findings", str(args.findings)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    started = time.perf_counter()
    passes = 0
    while time.monotonic() < deadline:
        stats = run_pass()
        passes += 1
        if args.verbose:
            print(stats, flush=True)
        with receiver.lock:
            done = len(receiver.arrived)
        if producer.poll() is not None and done >= Finding.objects.filter(organization=org).count():
            break
        time.sleep(0.2)
    if producer.poll() is None:
        producer.kill()
    out = producer.communicate()[0].split()
    raised = {"n": int(out[0]), "seconds": float(out[1])} if len(out) == 2 else {"n": 0, "seconds": 1.0}
    elapsed = time.perf_counter() - started

    first_seen = dict(Finding.objects.filter(organization=org).values_list("pk", "first_seen"))
    delays = [
        receiver.arrived[pk] - ts.timestamp() for pk, ts in first_seen.items() if pk in receiver.arrived
    ]
    sent = Notification.objects.filter(organization=org, status="sent").count()
    print(f"database:          {connection.vendor}")
    print(f"findings raised:   {raised['n']} across {len(services)} services in {raised['seconds']:.1f} s")
    print(f"findings/s:        {raised['n'] / raised['seconds']:.0f}")
    print(
        f"notifications:     {sent} sent ({receiver.notifications} received), {passes} passes, "
        f"group window {args.group_window} s"
    )
    print(f"notifications/s:   {sent / elapsed:.1f} (over the whole run of {elapsed:.1f} s)")
    print(f"delivered:         {len(delays)} of {raised['n']} findings")
    if delays:
        print(
            f"raise -> delivery: p50 {statistics.median(delays):.2f} s, p99 {percentile(delays, 99):.2f} s, "
            f"max {max(delays):.2f} s"
        )
    receiver.server.shutdown()
    return 0 if len(delays) == raised["n"] == args.findings else 1


if __name__ == "__main__":
    sys.exit(main())
