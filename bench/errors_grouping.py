"""Benchmark processing: `keepwell worker` grouping and storing envelopes built by the real sentry-sdk.

Fills the ingest spool with N envelopes (each a fresh event_id; exceptions of 4 kinds and messages with varying
numbers, so 5 groups; 500 users, 3 releases, tags and breadcrumbs, as the Python SDK sends them), calls
`tasks.process_envelope` for each as the ingest path does (which enqueues one job for the spool), then starts
a real job consumer (`keepwell worker`) and times it until the spool is empty. Prints events/s processed, the
consumer's peak RSS, and checks that every envelope became exactly one stored event.

    python bench/errors_grouping.py [--events 5000] [--workers 2] [--database sqlite|postgres|both]
                                    [--postgres postgres://postgres@127.0.0.1:5432]

SQLite runs in a scratch data directory; PostgreSQL against a scratch database `keepwell_bench_errors_grouping`
(created and dropped again; Redis is not used). Goal (issue 4): at least 1,000 events/s grouped and stored,
sustained, with RSS under 300 MB. The figures depend on the machine and its load: run it on a quiet machine.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _scratch_db import SCHEMA, add_database_options, databases, scratch_database

PYTHON = sys.executable
KEEPWELL = str(Path(PYTHON).parent / "keepwell")
SCRATCH_DB = "keepwell_bench_errors_grouping"

# These imports come first, before SCHEMA's: the SDK sends the script's first globals with each event (as a
# frame's variables), so their order sets the envelopes' content and size.
SETUP = (
    "import json, os, random, sys, uuid, django\n"
    + SCHEMA
    + """
import sentry_sdk
from sentry_sdk.transport import Transport
from keepwell.core.models import Organization, Service
from keepwell.errors.models import Dsn, RawEnvelope
from keepwell.errors.tasks import process_envelope

class Keep(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.bodies = []
    def capture_envelope(self, envelope):
        self.bodies.append(envelope.serialize())

def handler(kind, n):
    data = {"id": n}
    if kind == 0:
        return data["missing"]
    if kind == 1:
        return int("x%d" % n)
    if kind == 2:
        return n / 0
    return [][n]

random.seed(7)
templates = []
for release in ("shop@1.0.0", "shop@1.1.0", "shop@1.2.0"):
    keep = Keep()
    sentry_sdk.init(dsn="http://" + "a" * 32 + "@127.0.0.1:9/1", transport=keep, release=release,
                    default_integrations=False, auto_session_tracking=False, environment="production")
    for bug in range(40):
        with sentry_sdk.new_scope() as scope:
            scope.set_user({"id": "user-%d" % random.randrange(500)})
            scope.set_tag("region", random.choice(["eu", "us", "ap"]))
            scope.set_transaction_name("/route/%d" % (bug % 7))
            for i in range(5):
                sentry_sdk.add_breadcrumb(category="db", message="SELECT %d" % i)
            if bug < 32:
                try:
                    handler(bug % 4, bug)
                except Exception:
                    sentry_sdk.capture_exception()
            else:
                sentry_sdk.capture_message("Job %d failed after %d retries" % (bug, random.randrange(9)))
    sentry_sdk.flush()
    templates += keep.bodies
org = Organization.objects.create(slug="bench", name="Bench")
service = Service.objects.create(organization=org, name="Bench", slug="bench")
dsn = Dsn.issue(service, label="bench", rate_limit=0)
total = int(os.environ["BENCH_EVENTS"])
rows = []
for i in range(total):
    body = templates[i % len(templates)]
    old = json.loads(body.split(b"\\n", 1)[0])["event_id"]
    new = uuid.uuid4().hex
    rows.append(RawEnvelope(dsn=dsn, service=service, body=body.replace(old.encode(), new.encode()), event_id=new))
RawEnvelope.objects.bulk_create(rows, batch_size=500)
for pk in RawEnvelope.objects.values_list("id", flat=True):
    process_envelope(pk)
print(json.dumps({"envelopes": total, "bytes": sum(len(r.body) for r in rows) // total}))
"""
)

COUNT = """
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "keepwell.settings"
django.setup()
from keepwell.errors.models import ErrorEvent, ErrorGroup, RawEnvelope
print(json.dumps({"spooled": RawEnvelope.objects.count(), "events": ErrorEvent.objects.count(),
                  "groups": ErrorGroup.objects.count(), "counted": sum(ErrorGroup.objects.values_list("count", flat=True))}))
"""


def run_python(code: str, env: dict) -> dict:
    done = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def spooled(database_url: str | None, data_dir: str) -> int:
    """Count the envelopes still spooled, straight from the database (no Django start-up per poll)."""
    query = "SELECT COUNT(*) FROM errors_rawenvelope"
    if database_url:
        import psycopg

        with psycopg.connect(database_url) as conn:
            return conn.execute(query).fetchone()[0]
    import sqlite3

    with sqlite3.connect(f"file:{data_dir}/keepwell.sqlite3?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute(query).fetchone()[0]


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def bench(label: str, args) -> dict:
    with scratch_database(label, SCRATCH_DB, args.postgres, "kw-bench-grouping-") as scratch:
        database_url, data_dir = scratch.database_url, scratch.data_dir
        env = scratch.environ(BENCH_EVENTS=str(args.events))
        setup = run_python(SETUP, env)
        started = time.monotonic()
        worker = subprocess.Popen(
            [KEEPWELL, "worker", "--workers", str(args.workers), "--no-periodic"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        rss, first_done = 0.0, None
        try:
            while True:
                time.sleep(0.2)
                rss = max(rss, peak_rss_mb(worker.pid))
                left = spooled(database_url, data_dir)
                if first_done is None and left < setup["envelopes"]:
                    first_done = (time.monotonic(), left)
                if left == 0 or worker.poll() is not None or time.monotonic() - started > args.timeout:
                    break
            ended = time.monotonic()
            elapsed = ended - started
            rss = max(rss, peak_rss_mb(worker.pid))
        finally:
            worker.terminate()
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()
        counts = run_python(COUNT, env)
        return {
            "database": label,
            "envelopes": setup["envelopes"],
            "envelope_bytes": setup["bytes"],
            "seconds": round(elapsed, 2),
            "events_per_second": round(counts["events"] / elapsed, 1),
            # From the first batch stored to the last: the rate once the worker has started up.
            "sustained_per_second": round((first_done[1]) / max(ended - first_done[0], 1e-3), 1)
            if first_done
            else 0.0,
            "worker_peak_rss_mb": round(rss, 1),
            "stored": counts["events"],
            "groups": counts["groups"],
            "lost": setup["envelopes"] - counts["events"],
            "counted_twice": counts["counted"] - counts["events"],
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000, help="envelopes to process (one event each)")
    parser.add_argument("--workers", type=int, default=2, help="threads of the job consumer")
    add_database_options(parser, default="sqlite")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds")
    args = parser.parse_args()
    results = [bench(database, args) for database in databases(args.database)]
    for r in results:
        print(
            f"{r['database']:>8}: {r['stored']} of {r['envelopes']} events ({r['envelope_bytes']} bytes each) "
            f"grouped and stored in {r['seconds']} s: {r['events_per_second']} events/s "
            f"({r['sustained_per_second']}/s after the first batch); "
            f"{r['groups']} groups; worker peak RSS {r['worker_peak_rss_mb']} MB; lost {r['lost']}, "
            f"counted twice {r['counted_twice']}"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
