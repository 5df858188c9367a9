"""The lock tools `make test` installs into .venv/lock-tools (Poetry, pipenv, yarn 1, pnpm, a yarn berry), for
the tests that regenerate lockfiles. Import the fixture with `from deps_lock_tools import *`."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

__all__ = ["tools"]  # what `from deps_lock_tools import *` brings: the fixture

ROOT = Path(__file__).resolve().parents[2]
LOCK_TOOLS = ROOT / ".venv" / "lock-tools"
TOOL_DIRS = [LOCK_TOOLS / "bin", Path(sys.executable).parent]  # the second holds uv, a dev dependency


@pytest.fixture
def tools(monkeypatch):
    """Put the lock tools on PATH; return a function that requires one (fails under CI, skips elsewhere)."""
    monkeypatch.setenv("PATH", os.pathsep.join([*map(str, TOOL_DIRS), os.environ.get("PATH", "")]))

    def need(name):
        if shutil.which(name) is None:
            if os.environ.get("CI"):
                pytest.fail(f"{name} is missing: `make test` installs it into .venv/lock-tools.")
            pytest.skip(f"{name} is not installed (make test installs it)")

    return need


def run(*command, cwd, env=None) -> str:
    """Run a tool in `cwd` (with `env` over this process's); fail the test with its output if it fails."""
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def commit_all(repo) -> None:
    """Make `repo` a git repository with everything in it committed on main."""
    run("git", "init", "-q", "-b", "main", cwd=repo)
    run("git", "add", ".", cwd=repo)
    run("git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "start", cwd=repo)
