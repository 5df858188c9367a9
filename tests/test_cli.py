"""The `keepwell` console script, run for real as a subprocess on a throw-away data directory."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

KEEPWELL = str(Path(sys.executable).with_name("keepwell"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_env(data_dir, **extra) -> dict:
    """Return the environment of a keepwell process using `data_dir`, free of the test suite's settings."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("KEEPWELL_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(KEEPWELL_DATA_DIR=str(data_dir), KEEPWELL_LOG_LEVEL="WARNING", **extra)
    return env


def keepwell(data_dir, *args, timeout=60):
    """Run `keepwell *args` and return the finished process (stdout and stderr as text)."""
    return subprocess.run(
        [KEEPWELL, *args], env=cli_env(data_dir), capture_output=True, text=True, timeout=timeout, check=False
    )


def get(url, token=None):
    """GET `url`; return (status, body as text)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class Hub:
    """`keepwell up` running on loopback, its output in a file; its jobs on Redis in the Redis test run."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / "up.log"
        extra = {}
        if os.environ.get("KEEPWELL_TEST_REDIS_URL"):
            extra = {
                "KEEPWELL_REDIS_URL": os.environ["KEEPWELL_TEST_REDIS_URL"],
                "KEEPWELL_QUEUE_NAME": f"keepwell-cli-test-{self.port}",
            }
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [KEEPWELL, "up", "--port", str(self.port)],
                env=cli_env(data_dir, **extra),
                stdout=log,
                stderr=log,
            )

    def child(self, command: str) -> int:
        """Return the pid of the child process running `keepwell <command>`."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        for pid in children:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if command.encode() in argv:
                return int(pid)
        raise AssertionError(f"no child runs {command}: {children}")

    def output(self) -> str:
        return self.log.read_text()

    def wait_healthy(self, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"keepwell up exited with {self.proc.returncode}:\n{self.output()}")
            try:
                status, body = get(self.url + "/healthz")
                if status == 200:
                    return json.loads(body)
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"keepwell up did not answer /healthz in {seconds}s:\n{self.output()}")

    def stop(self, seconds=30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("hub") / "data")
    try:
        hub.wait_healthy()
        yield hub
    finally:
        hub.stop()


@pytest.mark.slow
def test_it_starts_web_and_jobs_and_answers_healthz(hub):
    status, body = get(hub.url + "/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "database": "ok", "jobs": "ok"}
    assert (hub.data_dir / "keepwell.sqlite3").exists()
    # The job queue is a file in the data directory, unless the Redis test run put it on Redis.
    assert (hub.data_dir / "jobs.sqlite3").exists() != bool(os.environ.get("KEEPWELL_TEST_REDIS_URL"))


@pytest.mark.slow
def test_it_creates_a_first_admin_and_prints_the_password_once(hub):
    lines = [line for line in hub.output().splitlines() if line.startswith("created admin admin@localhost")]
    assert len(lines) == 1
    assert lines[0].split("password ", 1)[1].split()[0]


@pytest.mark.slow
def test_it_creates_a_user_an_organization_and_a_token_the_api_accepts(hub):
    created = keepwell(
        hub.data_dir, "user", "create", "--email", "Ann@Example.org", "--password", "a long passphrase"
    )
    assert created.returncode == 0, created.stderr
    org = keepwell(
        hub.data_dir, "org", "create", "--slug", "acme", "--name", "Acme", "--owner", "ann@example.org"
    )
    assert org.returncode == 0, org.stderr
    token = keepwell(
        hub.data_dir, "token", "create", "--email", "ann@example.org", "--org", "acme", "--write"
    )
    assert token.returncode == 0, token.stderr
    plain = token.stdout.strip().splitlines()[-1]
    assert plain == token.stdout.strip()  # the token alone, so TOKEN=$(keepwell token create ...) works

    status, body = get(hub.url + "/api/v1/findings?state=open", token=plain)
    assert status == 200, body
    assert json.loads(body)["count"] == 0
    assert get(hub.url + "/api/v1/findings", token=plain + "x")[0] == 401


@pytest.mark.slow
def test_it_stops_web_and_jobs_cleanly_on_sigterm(tmp_path):
    hub = Hub(tmp_path / "data")
    hub.wait_healthy()
    started = time.monotonic()
    assert hub.stop() == 0
    assert time.monotonic() - started < 25
    with pytest.raises(OSError):
        get(hub.url + "/healthz")
    # The port is free again: nothing was left behind.
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", hub.port))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the children through Linux's /proc")
def test_it_stops_everything_and_fails_when_a_process_dies(tmp_path):
    hub = Hub(tmp_path / "data")
    hub.wait_healthy()
    web = hub.child("serve")
    os.kill(hub.child("worker"), signal.SIGKILL)
    assert hub.proc.wait(30) == 1
    assert "the jobs process stopped unexpectedly" in hub.output()
    with pytest.raises(ProcessLookupError):
        os.kill(web, 0)


def test_it_refuses_to_start_on_a_port_that_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = keepwell(tmp_path / "data", "up", "--port", str(port))
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_refuses_to_start_when_the_data_directory_cannot_be_written(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    result = keepwell(not_a_folder / "data", "up", "--port", str(free_port()))
    assert result.returncode == 1
    assert f"The data directory {not_a_folder / 'data'} is not writable" in result.stderr
    assert "KEEPWELL_DATA_DIR" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to any folder")
def test_it_refuses_to_start_when_the_data_directory_is_read_only(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o500)
    try:
        result = keepwell(data, "up", "--port", str(free_port()))
    finally:
        data.chmod(0o700)
    assert result.returncode == 1
    assert "is not writable" in result.stderr


def test_it_explains_a_mistake_on_stderr_without_a_traceback(tmp_path):
    data = tmp_path / "data"
    result = keepwell(
        data, "org", "create", "--slug", "acme", "--name", "Acme", "--owner", "nobody@example.org"
    )
    assert result.returncode == 1
    assert result.stderr.startswith("keepwell: error: There is no user nobody@example.org.")
    assert "Traceback" not in result.stderr


def test_it_seeds_the_demo_twice_without_changing_anything(tmp_path):
    data = tmp_path / "data"
    keepwell(data, "user", "create", "--email", "ann@example.org", "--password", "pw", "--admin")
    first = keepwell(data, "demo")
    assert first.returncode == 0, first.stderr
    assert "Created the demo organization 'demo'" in first.stdout
    tables = [
        "core_service",
        "core_finding",
        "core_channel",
        "core_routingrule",
        "core_maintenancewindow",
        "core_release",
        "core_deploy",
        "core_notification",
        "core_membership",
    ]

    def counts():
        with sqlite3.connect(data / "keepwell.sqlite3") as db:
            return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608

    before = counts()
    assert all(before.values()), before
    with sqlite3.connect(data / "keepwell.sqlite3") as db:
        states = set(db.execute("SELECT DISTINCT severity, state FROM core_finding").fetchall())
    assert states >= {
        (sev, st) for sev in ("info", "warning", "critical") for st in ("open", "acknowledged", "resolved")
    }

    second = keepwell(data, "demo")
    assert second.returncode == 0, second.stderr
    assert "0 new findings" in second.stdout
    assert counts() == before


def test_it_passes_manage_commands_to_django(tmp_path):
    result = keepwell(tmp_path / "data", "manage", "help", "migrate")
    assert result.returncode == 0
    assert "usage: keepwell manage migrate" in result.stdout


def test_it_shows_help_for_a_command(tmp_path):
    result = keepwell(tmp_path, "up", "--help")
    assert result.returncode == 0
    assert "--port" in result.stdout
