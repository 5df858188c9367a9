"""`keepwell deps scan PATH`: formats, thresholds and exit codes, offline, and no server or database."""

import json
import os
import re
import subprocess
import sys

import pytest
from deps_project import build_registry, write_project
from deps_registry_server import start

from keepwell.cli import main


@pytest.fixture
def registry():
    reg, stop = start(build_registry())
    yield reg
    stop()


@pytest.fixture
def repo(tmp_path):
    return write_project(tmp_path / "repo")


def scan_args(registry, tmp_path, repo, *more):
    return [
        "deps",
        "scan",
        str(repo),
        "--pypi-url",
        registry.url,
        "--npm-url",
        registry.url + "/npm",
        "--cache-dir",
        str(tmp_path / "cache"),
        *more,
    ]


@pytest.fixture(autouse=True)
def no_live_eol(monkeypatch):
    # The end-of-life data comes from the shipped snapshot here: tests talk to loopback only.
    monkeypatch.setenv("KEEPWELL_DEPS_EOL_URL", "")


def test_it_prints_the_pinned_json_contract(registry, tmp_path, repo, capsys):
    assert main(scan_args(registry, tmp_path, repo, "--format", "json")) == 0
    data = json.loads(capsys.readouterr().out)
    alpha = next(d for d in data["dependencies"] if d["name"] == "alpha")
    assert {k: alpha[k] for k in ("name", "ecosystem", "version", "latest", "libyears")} == {
        "name": "alpha",
        "ecosystem": "PyPI",
        "version": "1.0.0",
        "latest": "2.0.0",
        "libyears": 2.0,
    }
    assert data["summary"]["major"] == 2
    assert data["runtimes"][0]["product"] == "python"


def test_it_prints_a_table_and_markdown(registry, tmp_path, repo, capsys):
    assert main(scan_args(registry, tmp_path, repo)) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == [
        "name",
        "ecosystem",
        "version",
        "allowed",
        "latest",
        "behind",
        "libyears",
        "notes",
    ]
    assert "yanked: security hole" in table and "Python 3.8" in table
    assert main(scan_args(registry, tmp_path, repo, "--format", "markdown")) == 0
    md = capsys.readouterr().out
    assert md.startswith("# Dependencies") and "| alpha | PyPI | 1.0.0 |" in md


def test_it_escapes_hostile_names_in_markdown(registry, tmp_path, capsys):
    repo = write_project(
        tmp_path / "r", requirements="alpha==1.0.0\n", package={"name": "x", "dependencies": {}}
    )
    (repo / "package-lock.json").unlink()
    (repo / "package.json").write_text(json.dumps({"name": "x", "dependencies": {"a|<b>": "1.0.0"}}))
    main(scan_args(registry, tmp_path, repo, "--format", "markdown"))
    out = capsys.readouterr().out
    assert "<b>" not in out and "a\\|&lt;b>" in out


@pytest.mark.parametrize(
    "flags, code, message",
    [
        (["--max-libyears", "1"], 1, "exceed --max-libyears 1"),
        (["--max-libyears", "100"], 0, ""),
        (["--max-major-behind", "0"], 1, "more than 0 major versions behind: alpha 1.0.0 (latest 2.0.0)"),
        (["--fail-on-yanked"], 1, "yanked versions in use: yanked-one 2.0"),
        (["--fail-on-eol", "past"], 1, "end of life: Python 3.8 (Dockerfile) ended 2024-10-07"),
    ],
)
def test_it_exits_non_zero_past_a_threshold(registry, tmp_path, repo, capsys, flags, code, message):
    assert main(scan_args(registry, tmp_path, repo, *flags)) == code
    assert message in capsys.readouterr().err


def test_it_refuses_a_path_that_is_not_a_folder(tmp_path, capsys):
    assert main(["deps", "scan", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_it_refuses_a_negative_threshold(registry, tmp_path, repo, capsys):
    assert main(scan_args(registry, tmp_path, repo, "--max-libyears", "-1")) == 2
    assert "--max-libyears must be a number of 0 or more" in capsys.readouterr().err


def test_it_runs_offline_without_a_server_database_or_data_directory(registry, tmp_path, repo):
    """A CI job: a fresh process, no KEEPWELL_DATA_DIR to write, nothing but the cache written."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("KEEPWELL_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(KEEPWELL_DATA_DIR=str(tmp_path / "data"), KEEPWELL_DEPS_EOL_URL="")
    command = [sys.executable, "-m", "keepwell.cli", *scan_args(registry, tmp_path, repo, "--format", "json")]
    online = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert online.returncode == 0, online.stderr
    registry.requests.clear()
    offline = subprocess.run([*command, "--offline"], env=env, capture_output=True, text=True, timeout=60)
    assert offline.returncode == 0, offline.stderr
    assert registry.requests == []
    assert json.loads(offline.stdout)["dependencies"] == json.loads(online.stdout)["dependencies"]
    assert not (tmp_path / "data").exists()


def test_it_writes_the_report_to_a_file_or_says_why_it_cannot(registry, tmp_path, repo, capsys):
    out = tmp_path / "report.json"
    assert main(scan_args(registry, tmp_path, repo, "--format", "json", "--output", str(out))) == 0
    assert json.loads(out.read_text())["summary"]["dependencies"] == 6
    assert (
        main(scan_args(registry, tmp_path, repo, "--output", str(tmp_path / "no" / "such" / "dir.txt"))) == 2
    )
    assert "Cannot write the report to" in capsys.readouterr().err


def test_a_long_scan_draws_a_progress_bar_on_a_terminal_and_keeps_stdout_clean(tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    from deps_registry_server import Registry

    reg = Registry()
    names = [f"pkg{i:02d}" for i in range(30)]
    for name in names:
        reg.add_pypi(name, "1.0.0", 0)
        reg.add_pypi(name, "1.1.0", 30)
    reg.delay = 0.02  # with two requests at a time the scan takes ~0.3 s: long enough for tqdm to redraw
    reg, stop = start(reg)
    repo = tmp_path / "many"
    repo.mkdir()
    (repo / "requirements.txt").write_text("".join(f"{n}==1.0.0\n" for n in names))
    env = {**os.environ, "KEEPWELL_DEPS_EOL_URL": "", "KEEPWELL_DEPS_CONCURRENCY": "2"}
    command = [sys.executable, "-m", "keepwell.cli", *scan_args(reg, tmp_path, repo, "--format", "json")]
    master, terminal = pty.openpty()
    # A terminal 100 columns wide: a new pseudo-terminal is 0 wide, and tqdm draws nothing into that.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    try:
        proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=terminal, timeout=60)
        os.close(terminal)
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal's other end is closed: everything is read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(master)
        stop()
    assert proc.returncode == 0
    assert len(json.loads(proc.stdout)["dependencies"]) == 30
    text = drawn.decode(errors="replace")
    # The bar starts at 0/30 and is redrawn as packages arrive (tqdm skips redraws closer than 0.1 s apart).
    counts = [int(n) for n in re.findall(r"registries:.*?\| *(\d+)/30 \[", text)]
    assert counts[0] == 0 and max(counts) > 0, text
    # Without a terminal there is no bar: the same scan writes nothing to a piped stderr.
    piped = subprocess.run(command, env=env, capture_output=True, timeout=60)
    assert piped.returncode == 0 and b"registries" not in piped.stderr
