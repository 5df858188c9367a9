"""Benchmark the Healthchecks ping endpoint: wrk against `keepwell serve` (uvicorn) on SQLite and PostgreSQL.

Prints requests/s, latency p50/p99, and checks that every answered ping was stored: after wrk stops, the
server is killed with SIGKILL and the pings in the database are counted against wrk's answered requests.

    python bench/pings.py [--duration 10] [--connections 32] [--workers N] [--heartbeats 1000]
                          [--database sqlite|postgres|both] [--postgres postgres://postgres@127.0.0.1:5432]

Needs wrk (Debian package `wrk`; installed with apt-get when missing and running as root). PostgreSQL runs
against a scratch database `keepwell_bench_pings` that is created and dropped again. Goal (issue 3): at least
2,000 pings/s with p99 under 50 ms, every answered ping stored.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from _scratch_db import SCHEMA, add_database_options, databases, scratch_database

PYTHON = sys.executable
SCRATCH_DB = "keepwell_bench_pings"

SETUP = (
    SCHEMA
    + """
from keepwell.core.models import Organization, Service
from keepwell.monitoring.models import Heartbeat
org = Organization.objects.create(slug="bench", name="Bench")
service = Service.objects.create(organization=org, name="Bench", slug="bench")
rows = Heartbeat.objects.bulk_create(
    Heartbeat(organization=org, service=service, name=f"job {i}", slug=f"job-{i}", period=60, grace=60)
    for i in range(int(os.environ["BENCH_HEARTBEATS"]))
)
print(json.dumps([str(r.uuid) for r in Heartbeat.objects.order_by("id")]))
"""
)

COUNT = """
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "keepwell.settings"
django.setup()
from django.db.models import Sum
from keepwell.monitoring.models import Heartbeat, Ping
print(json.dumps({"pings": Ping.objects.count(), "n_pings": Heartbeat.objects.aggregate(n=Sum("n_pings"))["n"]}))
"""

# wrk's Lua: spread requests over the heartbeats, print the figures as JSON at the end.
LUA = """
local uuids = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/ping/" .. uuids[(i %% #uuids) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, "status": %%d, ' ..
    '"timeout": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("wrk is missing: install the Debian package `wrk` (apt-get install wrk).")
    print("installing wrk (apt-get install -y wrk) ...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or sys.exit("apt-get did not install wrk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python(code: str, env: dict) -> dict | list:
    done = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"bench set-up failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_until_up(url: str, proc, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"keepwell serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("keepwell serve did not answer in time")


# SQLite has one writer lock per database: a second web process adds no throughput and makes the processes'
# writer threads wait on each other in SQLite's busy handler (p99 of 0.9-1.3 s seen with 2 workers, 29-56 ms
# with 1). PostgreSQL locks rows, so two processes help there.
DEFAULT_WORKERS = {"sqlite": 1, "postgres": 2}


def run(label: str, env: dict, args, wrk: str) -> dict:
    env = {**env, "BENCH_HEARTBEATS": str(args.heartbeats)}
    workers = args.workers or DEFAULT_WORKERS[label]
    uuids = python(SETUP, env)
    port = free_port()
    server = subprocess.Popen(
        [PYTHON, "-m", "keepwell.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/ping/{uuids[0]}", server)
        warm = 1  # the ping that proved the server up
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(LUA % ", ".join(f'"{u}"' for u in uuids))
            script = f.name
        out = subprocess.run(
            [
                wrk,
                "-t",
                str(args.threads),
                "-c",
                str(args.connections),
                "-d",
                f"{args.duration}s",
                "--timeout",
                "5s",
                "-s",
                script,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        os.unlink(script)
        figures = json.loads(out.strip().splitlines()[-1])
    finally:
        # The durability check: SIGKILL right after the answers, no graceful shutdown.
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    stored = python(COUNT, env)
    answered = figures["requests"] - figures["status"]
    seconds = figures["duration_us"] / 1e6
    result = {
        "database": label,
        "requests_per_s": round(figures["requests"] / seconds),
        "p50_ms": figures["p50_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "max_ms": figures["max_us"] / 1000,
        "answered": answered,
        "errors": {k: figures[k] for k in ("connect", "read", "write", "status", "timeout")},
        "stored": stored["pings"] - warm,
        "n_pings": stored["n_pings"] - warm,
    }
    # Requests still in flight when wrk stopped may be stored without being counted as answered.
    result["every_answered_ping_stored"] = (
        result["stored"] >= answered and stored["pings"] == stored["n_pings"]
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per database")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="uvicorn worker processes (default: 1 on SQLite, 2 on PostgreSQL)",
    )
    parser.add_argument("--heartbeats", type=int, default=1000)
    add_database_options(parser, default="both")
    args = parser.parse_args()
    wrk = ensure_wrk()
    results = []
    for database in databases(args.database):
        with scratch_database(database, SCRATCH_DB, args.postgres, "keepwell-bench-pings-") as scratch:
            results.append(run(database, scratch.environ(), args, wrk))
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, uvicorn workers: "
        f"{args.workers or ', '.join(f'{db} {n}' for db, n in DEFAULT_WORKERS.items())}, "
        f"{args.heartbeats} heartbeats, {os.cpu_count()} CPUs"
    )
    print(
        f"{'database':<10} {'pings/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'answered':>9} {'stored':>9}  all stored"
    )
    for r in results:
        print(
            f"{r['database']:<10} {r['requests_per_s']:>8} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['max_ms']:>8.1f} "
            f"{r['answered']:>9} {r['stored']:>9}  {'yes' if r['every_answered_ping_stored'] else 'NO'}"
        )
        if any(r["errors"].values()):
            print(f"           errors: {r['errors']}")
    print(json.dumps(results))
    return 0 if all(r["every_answered_ping_stored"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
