"""Update proposals: grouping, and real git worktrees where the service's own test command decides."""

import json
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
from deps_registry_server import Registry, start

from keepwell.dependencies import proposals as prop
from keepwell.dependencies import relock

PY = "PyPI"


def dep(
    name, version, drift=None, latest=None, same_major=None, eco=PY, direct=True, source="requirements.txt"
):
    return SimpleNamespace(
        name=name,
        ecosystem=eco,
        version=version,
        drift=drift,
        latest=latest,
        latest_same_major=same_major,
        direct=direct,
        kind="registry",
        source=source,
    )


def test_it_groups_patch_and_minor_together_and_each_major_alone_per_ecosystem():
    groups = prop.group(
        [
            dep("alpha", "1.0.0", "major", "3.0.0", same_major="1.4.0"),
            dep("beta", "0.9", "patch", "0.9.1", same_major="0.9.1"),
            dep("gamma", "2.0", "major", "4.0"),
            dep("pad", "1.0.0", "minor", "1.2.0", same_major="1.2.0", eco="npm", source="package.json"),
            dep("deep", "1.0", "major", "2.0", same_major="1.1", direct=False),
            dep("fresh", "1.0"),
        ]
    )
    assert [(g.ecosystem, g.kind, [(c.name, c.old, c.new) for c in g.changes]) for g in groups] == [
        ("PyPI", "minor-patch", [("alpha", "1.0.0", "1.4.0"), ("beta", "0.9", "0.9.1")]),
        ("npm", "minor-patch", [("pad", "1.0.0", "1.2.0")]),
        ("PyPI", "major", [("alpha", "1.0.0", "3.0.0")]),
        ("PyPI", "major", [("gamma", "2.0", "4.0")]),
    ]
    assert groups[2].title == "Update alpha from 1.0.0 to 3.0.0 (PyPI, major)"


def test_it_rewrites_pins_and_ranges_keeping_the_rest_of_each_file(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        "# pinned\nAlpha[extra]==1.0.0 ; python_version >= '3.8'  # why\nbeta==0.9 \\\n    --hash=sha256:abc\nother==1.0.0\n"
    )
    (tmp_path / "package.json").write_text(
        '{\n  "dependencies": {\n    "pad": "^1.0.0",\n    "odd": "1.x || 2.x"\n  }\n}\n'
    )
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["gamma==2.0", "alpha>=1"]\n')
    edited, missed = prop.apply(
        tmp_path,
        [
            prop.Change("alpha", PY, "1.0.0", "1.4.0", "requirements.txt"),
            prop.Change("beta", PY, "0.9", "0.9.1", "requirements.txt"),
            prop.Change("pad", "npm", "1.0.0", "1.2.0", "package-lock.json"),
            prop.Change("odd", "npm", "1.0.0", "2.0.0", "package.json"),
            prop.Change("gamma", PY, "2.0", "4.0", "uv.lock"),
        ],
    )
    assert (tmp_path / "requirements.txt").read_text() == (
        "# pinned\nAlpha[extra]==1.4.0 ; python_version >= '3.8'  # why\nbeta==0.9.1\nother==1.0.0\n"
    )
    assert '"pad": "^1.2.0"' in (tmp_path / "package.json").read_text()
    assert '"odd": "1.x || 2.x"' in (tmp_path / "package.json").read_text()
    assert '"gamma==4.0"' in (tmp_path / "pyproject.toml").read_text()
    assert sorted(edited) == ["package.json", "pyproject.toml", "requirements.txt"]
    assert missed == ["odd 1.0.0 → 2.0.0"]


def test_it_never_writes_outside_the_repository(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "requirements.txt").write_text("alpha==1.0.0\n")
    edited, missed = prop.apply(repo, [prop.Change("alpha", PY, "1.0.0", "2.0.0", "../requirements.txt")])
    assert edited == [] and (tmp_path / "requirements.txt").read_text() == "alpha==1.0.0\n"


def test_it_detects_the_test_command_the_repository_declares(tmp_path):
    assert prop.detect_test_command(tmp_path) is None
    (tmp_path / "Makefile").write_text("test:\n\tpytest\n")
    assert prop.detect_test_command(tmp_path) == "make test"
    (tmp_path / "package.json").write_text('{"scripts": {"test": "node test.js"}}')
    assert prop.detect_test_command(tmp_path) == "npm test"
    (tmp_path / "pyproject.toml").write_text('[tool.keepwell]\ntest-command = "python -m pytest -x"\n')
    assert prop.detect_test_command(tmp_path) == "python -m pytest -x"


def test_it_keeps_the_hubs_secrets_out_of_the_test_command(tmp_path, monkeypatch):
    monkeypatch.setenv("KEEPWELL_SECRET_KEY", "s3cret")
    run = prop.run_tests(tmp_path, "env; exit 3")
    assert run.exit_code == 3 and "s3cret" not in run.output and "CI=true" in run.output


def test_it_stops_a_test_command_that_runs_too_long(tmp_path):
    run = prop.run_tests(tmp_path, "sleep 5", timeout=1)
    assert run.timed_out and run.exit_code is None and "stopped after 1 s" in run.output


# --- Real git, a real index, a test command that passes or fails by the version -------------------------

ALPHA_1 = "def pad(s):\n    return s + ' '\n"
ALPHA_2 = "def pad_right(s):\n    return s + ' '\n"  # 2.0 renamed pad(): the service's test must catch it


@pytest.fixture
def index():
    reg = Registry()
    reg.add_pypi("alpha", "1.0.0", 0, body=ALPHA_1)
    reg.add_pypi("alpha", "1.4.0", 100, body=ALPHA_1)
    reg.add_pypi("alpha", "2.0.0", 200, body=ALPHA_2)
    reg, stop = start(reg)
    yield reg
    stop()


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_service_repo(path, index_url, as_git=True):
    path.mkdir()
    (path / "requirements.txt").write_text("alpha==1.0.0\n")
    command = (
        f"{sys.executable} -m pip install -q --disable-pip-version-check --no-cache-dir --index-url {index_url}/simple/ "
        "-r requirements.txt --target .deps && "
        f"{sys.executable} -c \"import sys; sys.path.insert(0, '.deps'); import alpha; assert alpha.pad('x') == 'x '\""
    )
    (path / "pyproject.toml").write_text(f"[tool.keepwell]\ntest-command = '''{command}'''\n")
    (path / ".gitignore").write_text(".deps/\n")
    if as_git:
        git("init", "-q", "-b", "main", cwd=path)
        git("add", ".", cwd=path)
        git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "start", cwd=path)
    return path


@pytest.mark.slow
def test_it_writes_a_branch_and_records_whether_the_services_tests_pass(index, tmp_path):
    repo = make_service_repo(tmp_path / "service", index.url)
    (repo / "notes.txt").write_text("the user's uncommitted work\n")
    minor = prop.propose(
        str(repo),
        [prop.Change("alpha", PY, "1.0.0", "1.4.0", "requirements.txt")],
        "keepwell/deps-1",
        "Minor",
    )
    major = prop.propose(
        str(repo),
        [prop.Change("alpha", PY, "1.0.0", "2.0.0", "requirements.txt")],
        "keepwell/deps-2",
        "Major",
    )
    assert (minor.mode, minor.run.exit_code) == ("branch", 0)
    assert major.run.exit_code != 0 and "AttributeError" in major.run.output
    # The branches hold the change; the user's checkout is untouched.
    assert git("show", "keepwell/deps-2:requirements.txt", cwd=repo) == "alpha==2.0.0\n"
    assert git("log", "-1", "--format=%s", "keepwell/deps-1", cwd=repo).strip() == "Minor"
    assert git("branch", "--show-current", cwd=repo).strip() == "main"
    assert (repo / "requirements.txt").read_text() == "alpha==1.0.0\n"
    assert git("status", "--porcelain", cwd=repo) == "?? notes.txt\n"
    assert git("worktree", "list", cwd=repo).count("\n") == 1
    assert "+alpha==2.0.0" in major.patch
    with pytest.raises(prop.ProposalError, match="already exists"):
        prop.propose(
            str(repo),
            [prop.Change("alpha", PY, "1.0.0", "1.4.0", "requirements.txt")],
            "keepwell/deps-1",
            "x",
        )


def test_it_hands_back_a_patch_when_it_may_not_write_a_branch(index, tmp_path):
    repo = make_service_repo(tmp_path / "service", index.url, as_git=False)
    outcome = prop.propose(
        str(repo),
        [prop.Change("alpha", PY, "1.0.0", "1.4.0", "requirements.txt")],
        "keepwell/deps-3",
        "Minor",
    )
    assert (outcome.mode, outcome.branch, outcome.run.exit_code) == ("patch", "", 0)
    assert outcome.patch.startswith("--- a/requirements.txt\n+++ b/requirements.txt\n")
    assert "-alpha==1.0.0\n+alpha==1.4.0\n" in outcome.patch
    assert (repo / "requirements.txt").read_text() == "alpha==1.0.0\n"
    assert not (repo / ".deps").exists()


def test_it_says_what_to_do_when_the_repository_declares_no_test_command(tmp_path):
    (tmp_path / "requirements.txt").write_text("alpha==1.0.0\n")
    with pytest.raises(prop.ProposalError, match=r"declares no test command.*\[tool.keepwell\] test-command"):
        prop.propose(
            str(tmp_path), [prop.Change("alpha", PY, "1.0.0", "1.4.0", "requirements.txt")], "kw/x", "t"
        )


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_it_brings_the_npm_lockfile_along_so_the_tests_install_the_new_version(tmp_path):
    reg = Registry()
    reg.add_npm("left-pad", "1.0.0", 0)
    reg.add_npm("left-pad", "1.3.0", 50)
    reg, stop = start(reg)
    try:
        repo = tmp_path / "web"
        repo.mkdir()
        (repo / "package.json").write_text(
            json.dumps({"name": "web", "version": "1.0.0", "dependencies": {"left-pad": "1.0.0"}})
        )
        npm = ["npm", "--registry", reg.url + "/npm/", "--cache", str(tmp_path / "cache")]
        subprocess.run(
            [*npm, "install", "--package-lock-only", "--ignore-scripts"],
            cwd=repo,
            check=True,
            capture_output=True,
        )
        outcome = prop.propose(
            str(repo),
            [prop.Change("left-pad", "npm", "1.0.0", "1.3.0", "package-lock.json")],
            "keepwell/deps-9",
            "npm",
            command="grep -q 1.3.0 package-lock.json",
            lock_options=relock.Options(npm_registry=reg.url + "/npm"),
        )
    finally:
        stop()
    assert outcome.edited == ["package.json", "package-lock.json"]
    assert outcome.run.exit_code == 0, outcome.notes
    assert '"version": "1.3.0"' in outcome.patch
    assert (
        json.loads((repo / "package-lock.json").read_text())["packages"]["node_modules/left-pad"]["version"]
        == "1.0.0"
    )
