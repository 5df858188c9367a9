"""Benchmark Sentry ingestion: wrk posting envelopes built by the real sentry-sdk to keepwell under uvicorn.

Prints envelopes/s accepted, latency p50/p99, the server's peak RSS, and checks durability: after wrk stops,
the server is killed with SIGKILL and the spooled envelopes are counted against wrk's 200 answers.

    python bench/ingest.py [--duration 10] [--connections 32] [--workers N] [--body small|6mib|both]
                                  [--database sqlite|postgres|both] [--postgres postgres://postgres@127.0.0.1:5432]

The server is `keepwell.asgi:application` behind the ingestion fast path (keepwell.errors.ingest_asgi), as
uvicorn with the same options `keepwell serve` uses. Every request carries a fresh event_id (wrk's Lua script
fills a placeholder in the SDK's envelope), so none is dropped as a duplicate. The job consumer is not running:
this measures accepting (validate, spool, enqueue), not processing. Needs wrk (Debian package `wrk`).
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
import threading
import time
import urllib.request
from pathlib import Path

from _scratch_db import SCHEMA, add_database_options, databases, scratch_database

PYTHON = sys.executable
SCRATCH_DB = "keepwell_bench_errors_ingest"
PLACEHOLDER = "f" * 32

SETUP = (
    SCHEMA
    + """
from keepwell.core.models import Organization, Service
from keepwell.errors.models import Dsn
org = Organization.objects.create(slug="bench", name="Bench")
service = Service.objects.create(organization=org, name="Bench", slug="bench")
dsn = Dsn.issue(service, label="bench", rate_limit=0)
print(json.dumps({"project_id": dsn.project_id, "public_key": dsn.public_key}))
"""
)

COUNT = """
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "keepwell.settings"
django.setup()
from keepwell.errors.models import RawEnvelope
print(json.dumps({"spooled": RawEnvelope.objects.count(),
                  "distinct": RawEnvelope.objects.values("event_id").distinct().count()}))
"""

LUA = """
local body = nil
local path = "%(path)s"
local auth = "%(auth)s"
local placeholder = "%(placeholder)s"
local first, last = nil, nil
local counter = 0
local prefix = nil

setup = function(thread)
  thread:set("tid", tostring(math.random(0, 0x7fffffff)))
end

init = function(args)
  local f = assert(io.open("%(body_file)s", "rb"))
  body = f:read("*all")
  f:close()
  first, last = string.find(body, placeholder, 1, true)
  prefix = string.format("%%08x", tonumber(tid))
end

request = function()
  counter = counter + 1
  local id = prefix .. string.format("%%024d", counter)
  local b = string.sub(body, 1, first - 1) .. id .. string.sub(body, last + 1)
  return wrk.format("POST", path, {["Content-Type"] = "application/x-sentry-envelope",
                                   ["X-Sentry-Auth"] = auth}, b)
end

done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, "status": %%d, ' ..
    '"timeout": %%d, "p50_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def sdk_envelope(size: str) -> bytes:
    """Return an envelope the real sentry-sdk serializes for a captured exception (padded for `6mib`)."""
    import sentry_sdk
    from sentry_sdk.transport import Transport

    captured = []

    class Keep(Transport):
        def capture_envelope(self, envelope):
            captured.append(envelope)

    client = sentry_sdk.Client(
        dsn="http://" + "0" * 32 + "@127.0.0.1/1",
        transport=Keep,
        default_integrations=False,
        release="bench@1.0.0",
        environment="production",
    )
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        scope.set_user({"id": "42", "email": "user@example.org"})
        scope.set_tag("region", "eu")
        if size == "6mib":
            scope.set_context("payload", {"blob": "x" * 1000})
        try:
            {"cart": [1, 2, 3]}["missing"]
        except KeyError:
            event_id = sentry_sdk.capture_exception()
    envelope = captured[0]
    if size == "6mib":
        from sentry_sdk.envelope import Item, PayloadRef

        # A large attachment, as crash reports and log files make envelopes big.
        envelope.add_item(
            Item(
                payload=PayloadRef(bytes=os.urandom(3 * 1024 * 1024).hex().encode()[: 6 * 1024 * 1024]),
                type="attachment",
                headers={"filename": "dump.txt"},
            )
        )
    data = envelope.serialize()
    return data.replace(event_id.encode(), PLACEHOLDER.encode())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python(code: str, env: dict) -> dict:
    done = subprocess.run([PYTHON, "-c", code], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"bench set-up failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def rss_of_tree(pid: int) -> int:
    """Return the resident memory of `pid` and its children, in bytes."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


class PeakRss(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopped = pid, 0, threading.Event()

    def run(self):
        while not self.stopped.is_set():
            self.peak = max(self.peak, rss_of_tree(self.pid))
            time.sleep(0.1)


def wait_until_up(url: str, proc, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"uvicorn exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("the server did not answer in time")


DEFAULT_WORKERS = {"sqlite": 1, "postgres": 2}


def run(label: str, env: dict, args, body: bytes, body_label: str) -> dict:
    key = python(SETUP, env)
    port = free_port()
    workers = args.workers or DEFAULT_WORKERS[label]
    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "uvicorn",
            "keepwell.errors.ingest_asgi:make_application",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--lifespan",
            "off",
            "--no-server-header",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    rss = PeakRss(server.pid)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", server)
        rss.start()
        with tempfile.NamedTemporaryFile("wb", suffix=".envelope", delete=False) as f:
            f.write(body)
            body_file = f.name
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(
                LUA
                % {
                    "path": f"/api/{key['project_id']}/envelope/",
                    "auth": f"Sentry sentry_version=7, sentry_client=bench/1, sentry_key={key['public_key']}",
                    "placeholder": PLACEHOLDER,
                    "body_file": body_file,
                }
            )
            script = f.name
        connections = args.connections if body_label == "small" else min(args.connections, 8)
        out = subprocess.run(
            [
                "wrk",
                "-t",
                str(args.threads),
                "-c",
                str(connections),
                "-d",
                f"{args.duration}s",
                "--timeout",
                "10s",
                "-s",
                script,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        os.unlink(script)
        os.unlink(body_file)
        figures = json.loads(out.strip().splitlines()[-1])
    finally:
        rss.stopped.set()
        try:
            os.killpg(server.pid, signal.SIGKILL)  # the durability check: no graceful shutdown
        except ProcessLookupError:
            pass
        server.wait()
    stored = python(COUNT, env)
    answered = figures["requests"] - figures["status"]
    seconds = figures["duration_us"] / 1e6
    return {
        "database": label,
        "body": body_label,
        "body_bytes": len(body),
        "workers": workers,
        "connections": connections,
        "accepted_per_s": round(answered / seconds),
        "p50_ms": figures["p50_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "max_ms": figures["max_us"] / 1000,
        "answered": answered,
        "errors": {k: figures[k] for k in ("connect", "read", "write", "status", "timeout")},
        "spooled": stored["spooled"],
        "peak_rss_mb": round(rss.peak / 1024 / 1024),
        # Requests in flight when wrk stopped may be spooled without being counted as answered.
        "every_answered_envelope_spooled": stored["spooled"] >= answered
        and stored["distinct"] == stored["spooled"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--workers", type=int, default=0, help="uvicorn processes (default 1 SQLite, 2 PostgreSQL)"
    )
    parser.add_argument("--body", choices=["small", "6mib", "both"], default="small")
    add_database_options(parser, default="sqlite")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: install the Debian package `wrk` (apt-get install wrk).")
    bodies = ["small", "6mib"] if args.body == "both" else [args.body]
    results = []
    for body_label in bodies:
        body = sdk_envelope(body_label)
        for database in databases(args.database):
            with scratch_database(database, SCRATCH_DB, args.postgres, "keepwell-bench-errors-") as scratch:
                env = scratch.environ(KEEPWELL_ERRORS_RATE_LIMIT="0")
                results.append(run(database, env, args, body, body_label))
    print(
        f"wrk -t{args.threads} -d{args.duration}s, {os.cpu_count()} CPUs (shared with wrk and whatever else runs)"
    )
    print(
        f"{'database':<9} {'body':>9} {'conns':>5} {'accepted/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'RSS MB':>7} {'answered':>9} {'spooled':>8}  all spooled"
    )
    for r in results:
        print(
            f"{r['database']:<9} {r['body_bytes']:>9} {r['connections']:>5} {r['accepted_per_s']:>10} "
            f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['max_ms']:>8.1f} {r['peak_rss_mb']:>7} "
            f"{r['answered']:>9} {r['spooled']:>8}  {'yes' if r['every_answered_envelope_spooled'] else 'NO'}"
        )
        if any(r["errors"].values()):
            print(f"          errors: {r['errors']}")
    print(json.dumps(results))
    return 0 if all(r["every_answered_envelope_spooled"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
