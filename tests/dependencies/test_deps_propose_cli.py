"""`keepwell deps propose PATH`: proposals written into branches and judged by the repository's own tests."""

import json
import subprocess
import sys

import pytest
from deps_registry_server import Registry, start

from keepwell.cli import main

ALPHA_1 = "def pad(s):\n    return s + ' '\n"
ALPHA_2 = "def pad_right(s):\n    return s + ' '\n"  # 2.0 renamed pad(): the repository's test catches it


@pytest.fixture(autouse=True)
def no_live_eol(monkeypatch):
    monkeypatch.setenv("KEEPWELL_DEPS_EOL_URL", "")


@pytest.fixture
def index():
    reg = Registry()
    reg.add_pypi("alpha", "1.0.0", 0, body=ALPHA_1)
    reg.add_pypi("alpha", "1.4.0", 100, body=ALPHA_1)
    reg.add_pypi("alpha", "2.0.0", 200, body=ALPHA_2)
    reg.add_pypi("beta", "0.9", 0)
    reg, stop = start(reg)
    yield reg
    stop()


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def service_repo(path, index_url, as_git=True):
    """A repository pinning alpha 1.0.0 and beta 0.9 (current), whose test imports alpha and calls pad()."""
    path.mkdir()
    (path / "requirements.txt").write_text("alpha==1.0.0\nbeta==0.9\n")
    command = (
        f"{sys.executable} -m pip install -q --disable-pip-version-check --no-cache-dir "
        f"--index-url {index_url}/simple/ -r requirements.txt --target .deps && "
        f"{sys.executable} -c \"import sys; sys.path.insert(0, '.deps'); import alpha; assert alpha.pad('x') == 'x '\""
    )
    (path / "pyproject.toml").write_text(f"[tool.keepwell]\ntest-command = '''{command}'''\n")
    (path / ".gitignore").write_text(".deps/\n")
    if as_git:
        git("init", "-q", "-b", "main", cwd=path)
        git("add", ".", cwd=path)
        git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "start", cwd=path)
    return path


def args(index, tmp_path, repo, *more):
    return [
        "deps",
        "propose",
        str(repo),
        "--pypi-url",
        index.url,
        "--cache-dir",
        str(tmp_path / "cache"),
        *more,
    ]


@pytest.mark.slow
def test_it_writes_each_group_into_a_branch_and_reports_what_its_tests_said(index, tmp_path, capsys):
    repo = service_repo(tmp_path / "svc", index.url)
    assert main(args(index, tmp_path, repo, "--format", "json")) == 1  # the major update breaks the tests
    results = json.loads(capsys.readouterr().out)["proposals"]
    minor, major = results
    assert (minor["group"], major["group"]) == ("minor-patch", "major")
    assert minor["tests"]["exit_code"] == 0 and minor["mode"] == "branch"
    assert minor["branch"].startswith("keepwell/deps-pypi-minor-patch-")
    assert major["branch"] == "keepwell/deps-pypi-alpha-2.0.0"
    assert major["tests"]["exit_code"] != 0 and "AttributeError" in major["tests"]["output"]
    assert git("show", f"{minor['branch']}:requirements.txt", cwd=repo) == "alpha==1.4.0\nbeta==0.9\n"
    assert git("show", f"{major['branch']}:requirements.txt", cwd=repo) == "alpha==2.0.0\nbeta==0.9\n"
    assert (repo / "requirements.txt").read_text() == "alpha==1.0.0\nbeta==0.9\n"
    assert git("branch", "--show-current", cwd=repo).strip() == "main"

    # The same proposals again: their branches exist, each says so, and nothing is overwritten.
    assert main(args(index, tmp_path, repo)) == 1
    table = capsys.readouterr().out
    assert table.count("already exists") == 2 and table.splitlines()[0].split() == [
        "proposal",
        "written",
        "to",
        "tests",
        "notes",
    ]


def test_only_the_asked_group_is_written_and_tests_can_be_left_out(index, tmp_path, capsys):
    repo = service_repo(tmp_path / "svc", index.url)
    assert main(args(index, tmp_path, repo, "--group", "major", "--no-tests")) == 0
    out = capsys.readouterr().out
    assert "Update alpha from 1.0.0 to 2.0.0 (PyPI, major)" in out and "not run" in out
    assert "Minor and patch" not in out
    assert git("branch", "--list", "keepwell/*", cwd=repo).split() == ["keepwell/deps-pypi-alpha-2.0.0"]
    assert main(args(index, tmp_path, repo, "--ecosystem", "npm")) == 0
    assert capsys.readouterr().out == "Nothing to propose: no direct dependency is outdated.\n"


def test_a_folder_that_is_not_git_gets_patch_files(index, tmp_path, capsys):
    repo = service_repo(tmp_path / "svc", index.url, as_git=False)
    patches = tmp_path / "patches"
    assert (
        main(args(index, tmp_path, repo, "--no-tests", "--patch-dir", str(patches), "--format", "json")) == 0
    )
    results = json.loads(capsys.readouterr().out)["proposals"]
    files = sorted(p.name for p in patches.iterdir())
    assert [r["mode"] for r in results] == ["patch", "patch"] and len(files) == 2
    major = (patches / "keepwell-deps-pypi-alpha-2.0.0.patch").read_text()
    assert "-alpha==1.0.0\n+alpha==2.0.0\n" in major
    assert (repo / "requirements.txt").read_text() == "alpha==1.0.0\nbeta==0.9\n"


def test_bad_arguments_exit_2_saying_what_is_wrong(index, tmp_path, capsys):
    assert main(["deps", "propose", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    repo = service_repo(tmp_path / "svc", index.url)
    assert main(args(index, tmp_path, repo, "--timeout", "0")) == 2
    assert "--timeout must be a number of seconds above 0" in capsys.readouterr().err
