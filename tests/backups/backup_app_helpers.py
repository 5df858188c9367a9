"""Shared fixtures of the backups app's tests: real restic repositories, real files and SQLite databases.

Test modules import the fixtures they use from here (pytest finds them by name in the module).
"""

import os
import shutil
import sqlite3

import pytest

from keepwell.backups import engine
from keepwell.backups.models import Plan, Repository

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def template_repository(tmp_path_factory):
    """Initialize one restic repository per session; tests get copies (init costs a key derivation)."""
    path = tmp_path_factory.mktemp("app-template") / "repo"
    engine.init_repository(engine.RepoSpec(location=str(path), password=PASSWORD))
    return path


@pytest.fixture
def repo_path(template_repository, tmp_path):
    """Return the path of a fresh, empty restic repository of this test's own."""
    target = tmp_path / "repo"
    shutil.copytree(template_repository, target)
    return target


@pytest.fixture(autouse=True)
def restic_cache(settings, tmp_path):
    settings.BACKUP_CACHE_DIR = str(tmp_path / "restic-cache")


def make_tree(root, files=12, size=2000):
    """Write a small tree of files with distinct contents; return the root."""
    (root / "sub").mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (root / "sub" / f"file-{i}.bin").write_bytes(f"{i}:".encode() + os.urandom(size))
    (root / "readme.txt").write_text("the service's data\n")
    return root


def make_sqlite(path, rows=50):
    """Create a SQLite database with a table and rows; return its path."""
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    connection.executemany("INSERT INTO customer(name) VALUES (?)", [(f"customer {i}",) for i in range(rows)])
    connection.commit()
    connection.close()
    return path


@pytest.fixture
def data_tree(tmp_path):
    return make_tree(tmp_path / "data")


@pytest.fixture
def sqlite_file(tmp_path):
    return make_sqlite(tmp_path / "app.sqlite3")


def make_plan(service, repo_path, sources, **fields):
    """Create a plan of `service` backing up `sources` into the repository at `repo_path`."""
    repository = Repository.for_location(service.organization, str(repo_path), PASSWORD)
    values = {"schedule": "0 3 * * *", "drill_schedule": "", "name": "Shop data", **fields}
    return Plan.objects.create(
        organization=service.organization,
        service=service,
        repository=repository,
        sources=engine.validate_sources(sources),
        **values,
    )


@pytest.fixture
def plan(service, repo_path, data_tree):
    """A plan of acme's service that backs up a folder into a real repository (one snapshot a backup)."""
    return make_plan(service, repo_path, [{"kind": "path", "paths": [str(data_tree)]}])


def hold_a_stale_lock(repo_path):
    """Leave a real restic lock behind: start a backup from stdin, wait for its lock, kill -9 it."""
    import signal
    import subprocess
    import time

    env = {**os.environ, "RESTIC_PASSWORD": PASSWORD}
    process = subprocess.Popen(
        ["restic", "-r", str(repo_path), "backup", "--stdin", "--stdin-filename", "x"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(p.stat().st_size > 0 for p in (repo_path / "locks").iterdir()):
            break
        time.sleep(0.1)
    time.sleep(1)  # the lock file is written in full (a half-written one is no lock to restic)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert any((repo_path / "locks").iterdir()), "restic took no lock"
