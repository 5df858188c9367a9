"""An accepted envelope survives kill -9: a real server process, SIGKILLed right after its last 200."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sentry_sdk.envelope import Envelope

SETUP = """
import json, os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "keepwell.settings"
django.setup()
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
call_command("migrate", run_syncdb=True, verbosity=0)
from keepwell.core.models import Organization, Service
from keepwell.errors.models import Dsn
org = Organization.objects.create(slug="acme", name="Acme")
service = Service.objects.create(organization=org, name="Shop", slug="shop")
dsn = Dsn.issue(service, rate_limit=0)
print(json.dumps({"project_id": dsn.project_id, "public_key": dsn.public_key}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_answered_envelope_is_in_the_spool_after_kill_9(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPWELL_")}
    env.update(
        KEEPWELL_DATA_DIR=str(tmp_path),
        KEEPWELL_SECRET_KEY="test-" + "x" * 50,
        KEEPWELL_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="keepwell.settings",
    )
    done = subprocess.run([sys.executable, "-c", SETUP], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    key = json.loads(done.stdout.strip().splitlines()[-1])
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "keepwell.errors.ingest_asgi:make_application", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off", "--log-level", "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    answered = []
    try:
        url = f"http://127.0.0.1:{port}/api/{key['project_id']}/envelope/?sentry_key={key['public_key']}"
        deadline = time.monotonic() + 60
        with httpx.Client(timeout=10) as client:
            while True:
                try:
                    client.options(url)
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.stderr.read().decode()[-2000:]
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.2)
            for n in range(40):
                event_id = f"{n + 1:032x}"
                envelope = Envelope(headers={"event_id": event_id})
                envelope.add_event({"event_id": event_id, "message": f"event {n}"})
                response = client.post(url, content=envelope.serialize())
                assert response.status_code == 200, response.text
                answered.append(response.json()["id"])
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # no graceful shutdown: whatever was answered must be on disk
        server.wait()
    with sqlite3.connect(Path(tmp_path) / "keepwell.sqlite3") as db:
        spooled = {row[0] for row in db.execute("SELECT event_id FROM errors_rawenvelope")}
    assert set(answered) <= spooled and len(answered) == 40
