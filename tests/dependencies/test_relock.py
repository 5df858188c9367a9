"""Update proposals bring lockfiles along: uv, Poetry and pipenv themselves regenerate them, against a loopback index.

Each test locks a project while only the old releases exist on the index, then publishes the new ones and
proposes the update, as happens in life. The lockfile is then read back with keepwell's own readers.
"""

import shutil
from pathlib import Path

import pytest
from deps_lock_tools import *  # noqa: F403  (the tools fixture)
from deps_lock_tools import commit_all, run
from deps_registry_server import Registry, start

from keepwell.dependencies import proposals as prop
from keepwell.dependencies import readers, relock

PY = "PyPI"


@pytest.fixture
def index():
    reg = Registry()
    reg.add_pypi("alpha", "1.0.0", 0)
    reg.add_pypi("beta", "0.9", 0)
    reg, stop = start(reg)
    yield reg
    stop()


def publish_new_releases(reg):
    reg.add_pypi("alpha", "1.4.0", 100)
    reg.add_pypi("alpha", "2.0.0", 200)
    reg.add_pypi("beta", "0.9.1", 10)


def locked(repo, lockfile):
    return {d.name: d.version for d in readers.read_file(repo / lockfile) if d.direct}


def options(reg, tmp_path):
    return relock.Options(pypi_index=reg.url + "/simple/", cache_dir=tmp_path / "tool-cache", timeout=300)


@pytest.mark.slow
def test_uv_lock_moves_only_the_proposed_packages_and_a_pin_moves_with_it(tools, index, tmp_path):
    tools("uv")
    repo = tmp_path / "svc"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n'
        'dependencies = ["alpha>=1.0", "beta==0.9"]\n'
    )
    run(
        "uv",
        "lock",
        "-q",
        cwd=repo,
        env={"UV_DEFAULT_INDEX": index.url + "/simple/", "UV_CACHE_DIR": str(tmp_path / "c")},
    )
    commit_all(repo)
    publish_new_releases(index)

    outcome = prop.propose(
        str(repo),
        [
            prop.Change("alpha", PY, "1.0.0", "1.4.0", "uv.lock"),
            prop.Change("beta", PY, "0.9", "0.9.1", "uv.lock"),
        ],
        "keepwell/deps-1",
        "Minor",
        command="grep -q '0.9.1' uv.lock",
        lock_options=options(index, tmp_path),
    )

    assert outcome.notes == [] and outcome.missed == []
    assert sorted(outcome.edited) == ["pyproject.toml", "uv.lock"]
    assert outcome.run.exit_code == 0
    run("git", "checkout", "-q", "keepwell/deps-1", cwd=repo)
    assert locked(repo, "uv.lock") == {"alpha": "1.4.0", "beta": "0.9.1"}
    # The range that already allows 1.4.0 stays as written; the exact pin moves.
    assert '"alpha>=1.0", "beta==0.9.1"' in (repo / "pyproject.toml").read_text()
    assert "alpha-1.4.0-py3-none-any.whl" in outcome.patch


@pytest.mark.slow
def test_poetry_lock_follows_a_rewritten_constraint_for_a_major_update(tools, index, tmp_path):
    tools("poetry")
    repo = tmp_path / "svc"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "svc"\nversion = "0.1.0"\ndescription = ""\nauthors = ["t <t@example.org>"]\n'
        "package-mode = false\n\n"
        '[tool.poetry.dependencies]\npython = "^3.11"\nalpha = "^1.0"  # the pad helpers\nbeta = "0.9"\n\n'
        f'[[tool.poetry.source]]\nname = "local"\nurl = "{index.url}/simple/"\npriority = "primary"\n'
    )
    poetry_env = {"POETRY_CACHE_DIR": str(tmp_path / "c"), "POETRY_VIRTUALENVS_CREATE": "false"}
    run("poetry", "lock", "--no-interaction", cwd=repo, env=poetry_env)
    assert locked(repo, "poetry.lock") == {"alpha": "1.0.0", "beta": "0.9"}
    commit_all(repo)
    publish_new_releases(index)

    minor = prop.propose(
        str(repo),
        [
            prop.Change("alpha", PY, "1.0.0", "1.4.0", "poetry.lock"),
            prop.Change("beta", PY, "0.9", "0.9.1", "poetry.lock"),
        ],
        "keepwell/deps-1",
        "Minor",
        run=False,
        lock_options=options(index, tmp_path),
    )
    major = prop.propose(
        str(repo),
        [prop.Change("alpha", PY, "1.0.0", "2.0.0", "poetry.lock")],
        "keepwell/deps-2",
        "Major",
        run=False,
        lock_options=options(index, tmp_path),
    )

    assert (minor.notes, major.notes) == ([], [])
    run("git", "checkout", "-q", "keepwell/deps-1", cwd=repo)
    assert locked(repo, "poetry.lock") == {"alpha": "1.4.0", "beta": "0.9.1"}
    assert 'alpha = "^1.4.0"  # the pad helpers\nbeta = "0.9.1"\n' in (repo / "pyproject.toml").read_text()
    run("git", "checkout", "-q", "keepwell/deps-2", cwd=repo)
    assert locked(repo, "poetry.lock") == {"alpha": "2.0.0", "beta": "0.9"}
    assert 'alpha = "^2.0.0"' in (repo / "pyproject.toml").read_text()


@pytest.mark.slow
def test_pipfile_lock_is_regenerated_by_pipenv_with_the_pipfile_entry_pinned(tools, index, tmp_path):
    tools("pipenv")
    repo = tmp_path / "svc"
    repo.mkdir()
    (repo / "Pipfile").write_text(
        '[[source]]\nurl = "https://pypi.org/simple"\nverify_ssl = true\nname = "pypi"\n\n'
        '[packages]\nalpha = "*"\nbeta = "==0.9"\n'
    )
    pipenv_env = {
        "PIPENV_PYPI_MIRROR": index.url + "/simple/",
        "PIPENV_CACHE_DIR": str(tmp_path / "c"),
        "WORKON_HOME": str(tmp_path / "venvs"),
        "PIPENV_IGNORE_VIRTUALENVS": "1",
        "PIPENV_YES": "1",
    }
    run("pipenv", "lock", cwd=repo, env=pipenv_env)
    publish_new_releases(index)

    outcome = prop.propose(
        str(repo),
        [prop.Change("alpha", PY, "1.0.0", "1.4.0", "Pipfile.lock")],
        "keepwell/deps-1",
        "Minor",
        run=False,
        lock_options=options(index, tmp_path),
    )

    # Not a git repository: a patch, and the service's own files are untouched.
    assert outcome.mode == "patch" and outcome.notes == []
    assert sorted(outcome.edited) == ["Pipfile", "Pipfile.lock"]
    assert '+alpha = "==1.4.0"' in outcome.patch and '"version": "==1.4.0"' in outcome.patch
    assert locked(repo, "Pipfile.lock") == {"alpha": "1.0.0", "beta": "0.9"}
    # The lock still names pypi.org, not the mirror it was resolved through.
    assert index.url not in outcome.patch


def test_a_missing_tool_leaves_the_lockfile_alone_and_the_tests_unrun(index, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "sh"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(bin_dir))
    repo = tmp_path / "svc"
    repo.mkdir()
    (repo / "pyproject.toml").write_text('[project]\nname = "svc"\ndependencies = ["beta==0.9"]\n')
    (repo / "uv.lock").write_text("version = 1\n")

    outcome = prop.propose(
        str(repo),
        [prop.Change("beta", PY, "0.9", "0.9.1", "uv.lock")],
        "keepwell/deps-1",
        "Minor",
        command="exit 0",
        lock_options=options(index, tmp_path),
    )

    assert outcome.edited == ["pyproject.toml"] and (repo / "uv.lock").read_text() == "version = 1\n"
    assert outcome.notes == ["uv.lock was not updated: uv is not installed on the hub."]
    assert outcome.run is None and outcome.not_run.startswith("The tests were not run: uv.lock still holds")


@pytest.mark.slow
def test_a_lock_tool_that_cannot_resolve_names_why_and_restores_the_lockfile(tools, index, tmp_path):
    tools("uv")
    repo = tmp_path / "svc"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["alpha~=1.0"]\n'
    )
    run(
        "uv",
        "lock",
        "-q",
        cwd=repo,
        env={"UV_DEFAULT_INDEX": index.url + "/simple/", "UV_CACHE_DIR": str(tmp_path / "c")},
    )
    before = (repo / "uv.lock").read_text()
    publish_new_releases(index)

    with pytest.raises(prop.ProposalError) as error:
        prop.propose(
            str(repo),
            [prop.Change("alpha", PY, "1.0.0", "2.0.0", "uv.lock")],
            "keepwell/deps-1",
            "Major",
            run=False,
            lock_options=options(index, tmp_path),
        )

    message = str(error.value)
    assert "no declaration it can rewrite" in message and "alpha 1.0.0 → 2.0.0" in message
    assert "uv.lock was not updated: `uv lock --upgrade-package alpha==2.0.0` failed" in message
    assert "unsatisfiable" in message
    assert (repo / "uv.lock").read_text() == before


def test_a_lockfile_keepwell_does_not_regenerate_is_named_and_stops_the_tests(tmp_path):
    repo = tmp_path / "svc"
    repo.mkdir()
    (repo / "requirements.txt").write_text("beta==0.9\n")
    (repo / "pylock.toml").write_text('lock-version = "1.0"\n[[packages]]\nname = "beta"\nversion = "0.9"\n')
    outcome = prop.propose(
        str(repo),
        [prop.Change("beta", PY, "0.9", "0.9.1", "pylock.toml")],
        "keepwell/deps-1",
        "Minor",
        command="exit 0",
    )
    assert outcome.edited == ["requirements.txt"] and outcome.run is None
    assert outcome.notes == [
        "pylock.toml was not updated: keepwell does not regenerate pylock.toml; regenerate it from the lock it "
        "was exported from (e.g. `uv export --format pylock.toml`)."
    ]
    assert "pylock.toml still holds the old versions" in outcome.not_run


def test_the_nearest_lockfile_above_a_workspace_member_is_the_one_regenerated(tmp_path):
    (tmp_path / "packages" / "api").mkdir(parents=True)
    (tmp_path / "uv.lock").write_text("")
    (tmp_path / "packages" / "api" / "pyproject.toml").write_text("")
    (tmp_path / "package-lock.json").write_text("{}")
    assert relock.find_lockfile(tmp_path, Path("packages/api"), PY) == tmp_path / "uv.lock"
    assert relock.find_lockfile(tmp_path, Path("packages/api"), "npm") == tmp_path / "package-lock.json"
    assert relock.find_lockfile(tmp_path, Path(".."), PY) is None
    (tmp_path / "packages" / "api" / "poetry.lock").write_text("")
    assert relock.find_lockfile(tmp_path, Path("packages/api"), PY) == tmp_path / "packages/api/poetry.lock"


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ('alpha = "^1.0"\n', 'alpha = "^1.4.0"\n'),
        ("alpha = '~1.0'  # why\n", "alpha = '~1.4.0'  # why\n"),
        ('Alpha = "1.0.0"\n', 'Alpha = "1.4.0"\n'),
        (
            'alpha = { version = ">=1.0", extras = ["x"] }\n',
            'alpha = { version = ">=1.4.0", extras = ["x"] }\n',
        ),
        ('"alpha" = "==1.0"\n', '"alpha" = "==1.4.0"\n'),
    ],
)
def test_poetry_constraints_are_rewritten_keeping_their_operator(declared, expected):
    text = '[tool.poetry.group.dev.dependencies]\npython = "^3.11"\n' + declared + 'alphabet = "^1.0"\n'
    new = prop._edit_pyproject(text, prop.Change("alpha", PY, "1.0.0", "1.4.0", "poetry.lock"))
    assert new == text.replace(declared, expected)


@pytest.mark.parametrize(
    "declared",
    ['alpha = "*"\n', 'alpha = ">=1,<2"\n', 'alpha = { git = "https://example.org/a.git" }\n'],
)
def test_poetry_constraints_keepwell_cannot_rewrite_are_left_alone(declared):
    text = "[tool.poetry.dependencies]\n" + declared + '[tool.other]\nalpha = "^1.0"\n'
    assert prop._edit_pyproject(text, prop.Change("alpha", PY, "1.0.0", "1.4.0", "poetry.lock")) is None


# --- Through the hub: the settings' PyPI reaches the lock tool, the outcome is recorded ---------------


@pytest.mark.slow
@pytest.mark.django_db
def test_the_hub_relocks_through_its_configured_index_and_records_the_test_outcome(
    tools, service, settings, tmp_path
):
    from deps_hub_fixtures import build_registry

    from keepwell.dependencies import hub
    from keepwell.dependencies.models import Proposal

    tools("uv")
    reg, stop = start(build_registry())
    settings.ALLOW_PRIVATE_TARGETS = True
    settings.DEPS_PYPI_URL, settings.DEPS_NPM_URL, settings.DEPS_EOL_URL = reg.url, reg.url + "/npm", ""
    settings.DEPS_CACHE_DIR = tmp_path / "deps-cache"
    settings.DEPS_RUN_TESTS = True
    repo = tmp_path / "svc"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["alpha==1.0.0"]\n'
        '[tool.keepwell]\ntest-command = "grep -q alpha-1.4.0-py3 uv.lock"\n'
    )
    try:
        run(
            "uv",
            "lock",
            "-q",
            cwd=repo,
            env={"UV_DEFAULT_INDEX": reg.url + "/simple/", "UV_CACHE_DIR": str(tmp_path / "c")},
        )
        commit_all(repo)
        service.repository = str(repo)
        service.save()
        hub.scan_service(service)
        [minor] = hub.create_proposals(service, group_kind="minor-patch")
        minor = hub.run_proposal(minor)
    finally:
        stop()
    assert (minor.status, minor.mode, minor.error) == (Proposal.Status.PASSED, "branch", "")
    assert sorted(minor.edited_files) == ["pyproject.toml", "uv.lock"]
    assert (
        settings.DEPS_CACHE_DIR / "lock-tools" / "uv"
    ).is_dir()  # the tools' downloads are cached by the hub
