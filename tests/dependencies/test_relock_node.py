"""Update proposals bring yarn.lock and pnpm-lock.yaml along: yarn 1, pnpm and a repository's own yarn berry.

As in test_relock.py, each test locks a project while only the old releases exist on a loopback registry, then
publishes the new ones and proposes the update; the lockfile is read back with keepwell's own readers.
"""

import json
import shutil

import pytest
from deps_lock_tools import *  # noqa: F403  (the tools fixture)
from deps_lock_tools import LOCK_TOOLS, commit_all, run
from deps_registry_server import Registry, start

from keepwell.dependencies import proposals as prop
from keepwell.dependencies import readers, relock

NPM = "npm"
# yarn berry as a repository commits it; `make test` keeps one apart from yarn 1 to copy into test repositories.
BERRY = LOCK_TOOLS / "berry" / "node_modules" / "@yarnpkg" / "cli-dist" / "bin" / "yarn.js"


@pytest.fixture
def registry():
    reg = Registry()
    reg.add_npm("alpha", "1.0.0", 0)
    reg.add_npm("beta", "1.0.0", 0, dependencies={"gamma": "^1.0.0"})
    reg.add_npm("gamma", "1.0.0", 0)
    reg, stop = start(reg)
    yield reg
    stop()


def publish_new_releases(reg):
    """Newer releases of everything: only what is proposed may move in the lockfile."""
    reg.add_npm("alpha", "1.3.0", 100)
    reg.add_npm("alpha", "2.0.0", 200)
    reg.add_npm("beta", "1.1.0", 100, dependencies={"gamma": "^1.0.0"})
    reg.add_npm("gamma", "1.0.1", 100)


def project(tmp_path, **extra):
    repo = tmp_path / "web"
    repo.mkdir()
    manifest = {"name": "web", "version": "0.1.0", "dependencies": {"alpha": "^1.0.0", "beta": "^1.0.0"}}
    (repo / "package.json").write_text(json.dumps({**manifest, **extra}, indent=2) + "\n")
    return repo


def versions(lockfile):
    """Every package the lockfile holds (direct or not), name → sorted versions."""
    out = {}
    for d in readers.read_file(lockfile):
        out.setdefault(d.name, set()).add(d.version)
    return {name: sorted(v) for name, v in out.items()}


def options(reg, tmp_path, **kwargs):
    return relock.Options(
        npm_registry=reg.url + "/npm", cache_dir=tmp_path / "tool-cache", timeout=300, **kwargs
    )


def branch_files(repo, branch):
    return run("git", "ls-tree", "-r", "--name-only", branch, cwd=repo).split()


def lock_with_pnpm(repo, reg, tmp_path):
    run(
        "pnpm",
        "install",
        "--lockfile-only",
        "--ignore-scripts",
        "--registry",
        reg.url + "/npm/",
        "--store-dir",
        str(tmp_path / "store"),
        cwd=repo,
    )


def lock_with_yarn1(repo, reg, tmp_path):
    run(
        "yarn",
        "install",
        "--ignore-scripts",
        "--non-interactive",
        "--registry",
        reg.url + "/npm/",
        "--cache-folder",
        str(tmp_path / "yarn-cache"),
        "--modules-folder",
        str(tmp_path / "modules"),
        cwd=repo,
    )


# --- pnpm ---------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_pnpm_lock_moves_only_the_proposed_package_for_a_minor_and_a_major_update(tools, registry, tmp_path):
    tools("pnpm")
    repo = project(tmp_path)
    lock_with_pnpm(repo, registry, tmp_path)
    before = versions(repo / "pnpm-lock.yaml")
    assert before == {"alpha": ["1.0.0"], "beta": ["1.0.0"], "gamma": ["1.0.0"]}
    commit_all(repo)
    publish_new_releases(registry)

    minor = prop.propose(
        str(repo),
        [prop.Change("alpha", NPM, "1.0.0", "1.3.0", "pnpm-lock.yaml")],
        "keepwell/deps-1",
        "Minor",
        command="test ! -e node_modules && grep -q 'alpha@1.3.0' pnpm-lock.yaml",
        lock_options=options(registry, tmp_path),
    )
    major = prop.propose(
        str(repo),
        [prop.Change("alpha", NPM, "1.0.0", "2.0.0", "pnpm-lock.yaml")],
        "keepwell/deps-2",
        "Major",
        run=False,
        lock_options=options(registry, tmp_path),
    )

    assert (minor.notes, minor.missed, major.notes) == ([], [], [])
    assert minor.edited == ["package.json", "pnpm-lock.yaml"]
    assert minor.run.exit_code == 0, minor.run.output  # the tool left no node_modules for the tests to find
    assert not any("node_modules" in f for f in branch_files(repo, "keepwell/deps-1"))
    run("git", "checkout", "-q", "keepwell/deps-1", cwd=repo)
    assert versions(repo / "pnpm-lock.yaml") == {**before, "alpha": ["1.3.0"]}
    assert '"alpha": "^1.3.0"' in (repo / "package.json").read_text()
    run("git", "checkout", "-q", "keepwell/deps-2", cwd=repo)
    assert versions(repo / "pnpm-lock.yaml") == {**before, "alpha": ["2.0.0"]}
    assert '"alpha": "^2.0.0"' in (repo / "package.json").read_text()


@pytest.mark.slow
def test_a_pnpm_workspace_member_moves_and_the_other_members_keep_their_ranges(tools, registry, tmp_path):
    tools("pnpm")
    repo = tmp_path / "mono"
    for member in ("api", "web"):
        (repo / "packages" / member).mkdir(parents=True)
        (repo / "packages" / member / "package.json").write_text(
            json.dumps({"name": member, "version": "1.0.0", "dependencies": {"alpha": "1.0.0"}}) + "\n"
        )
    (repo / "package.json").write_text('{"name": "mono", "private": true}\n')
    (repo / "pnpm-workspace.yaml").write_text("packages:\n  - 'packages/*'\n")
    lock_with_pnpm(repo, registry, tmp_path)
    commit_all(repo)
    publish_new_releases(registry)

    outcome = prop.propose(
        str(repo),
        [prop.Change("alpha", NPM, "1.0.0", "1.3.0", "packages/api/package.json")],
        "keepwell/deps-1",
        "Minor",
        command="test ! -e node_modules",
        lock_options=options(registry, tmp_path),
    )

    assert outcome.notes == [] and outcome.edited == ["packages/api/package.json", "pnpm-lock.yaml"]
    assert outcome.run.exit_code == 0, outcome.run.output
    run("git", "checkout", "-q", "keepwell/deps-1", cwd=repo)
    assert versions(repo / "pnpm-lock.yaml") == {"alpha": ["1.0.0", "1.3.0"]}
    assert '"alpha": "1.0.0"' in (repo / "packages" / "web" / "package.json").read_text()
    lock = (repo / "pnpm-lock.yaml").read_text()
    assert (
        "packages/api:\n    dependencies:\n      alpha:\n        specifier: 1.3.0\n        version: 1.3.0"
        in lock
    )
    assert (
        "packages/web:\n    dependencies:\n      alpha:\n        specifier: 1.0.0\n        version: 1.0.0"
        in lock
    )


# --- yarn 1 -------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_yarn1_lock_moves_only_the_proposed_package_and_its_node_modules_never_reach_the_branch(
    tools, registry, tmp_path
):
    tools("yarn")
    repo = project(tmp_path)
    lock_with_yarn1(repo, registry, tmp_path)
    before = versions(repo / "yarn.lock")
    assert before == {"alpha": ["1.0.0"], "beta": ["1.0.0"], "gamma": ["1.0.0"]}
    # A yarn the repository names is its code: yarn 1 must not hand over to it.
    (repo / "own-yarn.js").write_text("require('fs').writeFileSync('ran', 'yes')\n")
    (repo / ".yarnrc").write_text('yarn-path "./own-yarn.js"\n')
    commit_all(repo)
    publish_new_releases(registry)

    outcome = prop.propose(
        str(repo),
        [prop.Change("alpha", NPM, "1.0.0", "1.3.0", "yarn.lock")],
        "keepwell/deps-1",
        "Minor",
        command="test ! -e ran && test ! -e node_modules && grep -q 'alpha@^1.3.0' yarn.lock",
        lock_options=options(registry, tmp_path),
    )

    assert outcome.notes == [] and outcome.missed == []
    assert outcome.edited == ["package.json", "yarn.lock"]
    assert outcome.run.exit_code == 0, outcome.run.output  # no node_modules in the work tree the tests ran in
    assert "node_modules" not in outcome.patch
    assert not any("node_modules" in f for f in branch_files(repo, "keepwell/deps-1"))
    run("git", "checkout", "-q", "keepwell/deps-1", cwd=repo)
    assert versions(repo / "yarn.lock") == {**before, "alpha": ["1.3.0"]}
    assert '"alpha": "^1.3.0"' in (repo / "package.json").read_text()


@pytest.mark.slow
def test_yarn1_that_cannot_resolve_names_why_restores_the_lockfile_and_leaves_nothing_behind(
    tools, registry, tmp_path
):
    tools("yarn")
    repo = project(tmp_path)
    lock_with_yarn1(repo, registry, tmp_path)
    lock_before = (repo / "yarn.lock").read_bytes()
    (repo / "package.json").write_text((repo / "package.json").read_text().replace("^1.0.0", "^9.0.0", 1))
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    result = relock.relock(
        repo,
        repo / "yarn.lock",
        NPM,
        [relock.Target("alpha", "9.0.0")],
        options(registry, tmp_path),
        scratch,
    )

    assert result.stale and result.changed == []
    [note] = result.notes
    assert note.startswith(
        "yarn.lock was not updated: `yarn install --ignore-scripts --ignore-engines --ignore-platform "
        f"--non-interactive --no-progress --registry {registry.url}/npm/` failed: "
    )
    assert "alpha" in note and str(scratch) not in note and str(tmp_path / "tool-cache") not in note
    assert (repo / "yarn.lock").read_bytes() == lock_before
    assert sorted(p.name for p in repo.iterdir()) == ["package.json", "yarn.lock"]


# --- yarn berry ---------------------------------------------------------------------------------------------


def berry_project(tmp_path, own_yarn=True):
    repo = project(tmp_path)
    rc = "nodeLinker: node-modules\n"
    if own_yarn:
        (repo / ".yarn" / "releases").mkdir(parents=True)
        shutil.copy(BERRY, repo / ".yarn" / "releases" / "yarn-4.18.1.cjs")
        rc = "yarnPath: .yarn/releases/yarn-4.18.1.cjs  # the team's yarn\n" + rc
    (repo / ".yarnrc.yml").write_text(rc)
    return repo


def berry_env(reg, tmp_path):
    return {
        "YARN_NPM_REGISTRY_SERVER": reg.url + "/npm",
        "YARN_UNSAFE_HTTP_WHITELIST": "127.0.0.1",
        "YARN_GLOBAL_FOLDER": str(tmp_path / "berry-global"),
        "YARN_ENABLE_TELEMETRY": "0",
        # The first lock is made as a person makes it: berry refuses to write a lockfile when CI is set.
        "YARN_ENABLE_IMMUTABLE_INSTALLS": "0",
    }


@pytest.mark.slow
def test_a_berry_lock_is_moved_by_the_repository_own_yarn_when_running_its_code_is_allowed(
    tools, registry, tmp_path
):
    tools("node")
    if not BERRY.is_file():
        tools("yarn-berry-in-lock-tools")  # fails under CI, skips otherwise
    repo = berry_project(tmp_path)
    run("node", ".yarn/releases/yarn-4.18.1.cjs", "install", cwd=repo, env=berry_env(registry, tmp_path))
    shutil.rmtree(repo / "node_modules")
    (repo / ".gitignore").write_text("node_modules\n.yarn/install-state.gz\n")
    before = versions(repo / "yarn.lock")
    assert before == {"alpha": ["1.0.0"], "beta": ["1.0.0"], "gamma": ["1.0.0"]}
    commit_all(repo)
    publish_new_releases(registry)

    outcome = prop.propose(
        str(repo),
        [prop.Change("alpha", NPM, "1.0.0", "1.3.0", "yarn.lock")],
        "keepwell/deps-1",
        "Minor",
        command="test ! -e .yarn/install-state.gz && test ! -e node_modules && test ! -e .pnp.cjs",
        lock_options=options(registry, tmp_path, repository_tools=True),
    )

    assert outcome.notes == [] and outcome.edited == ["package.json", "yarn.lock"]
    assert outcome.run.exit_code == 0, outcome.run.output
    run("git", "checkout", "-q", "keepwell/deps-1", cwd=repo)
    assert versions(repo / "yarn.lock") == {**before, "alpha": ["1.3.0"]}
    # package.json keeps the range the proposal wrote (`yarn up alpha@1.3.0` would have pinned it).
    assert '"alpha": "^1.3.0"' in (repo / "package.json").read_text()
    assert '"alpha@npm:^1.3.0":\n  version: 1.3.0\n' in (repo / "yarn.lock").read_text()


def berry_lock(repo):
    (repo / "yarn.lock").write_text(
        '__metadata:\n  version: 8\n  cacheKey: 10c0\n\n"alpha@npm:^1.0.0":\n  version: 1.0.0\n'
        '  resolution: "alpha@npm:1.0.0"\n  languageName: node\n  linkType: hard\n'
    )


def test_a_berry_lock_without_the_repository_own_yarn_is_named_as_not_regenerated(tmp_path):
    repo = berry_project(tmp_path, own_yarn=False)
    berry_lock(repo)

    outcome = prop.propose(
        str(repo),
        [prop.Change("alpha", NPM, "1.0.0", "1.3.0", "yarn.lock")],
        "keepwell/deps-1",
        "Minor",
        command="exit 0",
        lock_options=relock.Options(repository_tools=True),
    )

    assert outcome.edited == ["package.json"] and outcome.run is None
    assert outcome.notes == [
        "yarn.lock was not updated: it is a yarn berry lockfile and the repository provides no yarn of its own "
        "(yarnPath in .yarnrc.yml naming a committed .yarn/releases/yarn-*.cjs), and keepwell runs berry only "
        "that way; run `yarn install --mode=update-lockfile` on the branch."
    ]
    assert "yarn.lock still holds the old versions" in outcome.not_run


@pytest.mark.parametrize(
    "yarn_path",
    ["../outside.cjs", ".yarn/releases/../../elsewhere.cjs", ".yarn/releases/missing.cjs", "bin/yarn.cjs"],
)
def test_a_yarn_path_outside_the_repository_releases_is_not_run(tmp_path, yarn_path):
    repo = tmp_path / "web"
    (repo / "bin").mkdir(parents=True)
    for path in ("outside.cjs", "elsewhere.cjs", "web/bin/yarn.cjs"):
        (tmp_path / path).write_text("process.exit(0)\n")
    (repo / ".yarnrc.yml").write_text(f"yarnPath: '{yarn_path}'\n")
    assert relock._own_yarn(repo) is None
    (repo / ".yarn" / "releases").mkdir(parents=True)
    (repo / ".yarn" / "releases" / "yarn-4.1.0.cjs").write_text("")
    (repo / ".yarnrc.yml").write_text('yarnPath: ".yarn/releases/yarn-4.1.0.cjs"\n')
    assert relock._own_yarn(repo) == (repo / ".yarn" / "releases" / "yarn-4.1.0.cjs").resolve()


def test_the_repository_own_berry_is_not_run_unless_running_repository_code_is_allowed(tmp_path):
    repo = berry_project(tmp_path, own_yarn=False)
    (repo / ".yarn" / "releases").mkdir(parents=True)
    # Were it run, this yarn would leave a mark.
    (repo / ".yarn" / "releases" / "yarn-4.18.1.cjs").write_text(
        "require('fs').writeFileSync('ran', 'yes')\n"
    )
    (repo / ".yarnrc.yml").write_text("yarnPath: .yarn/releases/yarn-4.18.1.cjs\n")
    berry_lock(repo)

    outcome = prop.propose(
        str(repo),
        [prop.Change("alpha", NPM, "1.0.0", "1.3.0", "yarn.lock")],
        "keepwell/deps-1",
        "Minor",
        command="test ! -e ran",
        lock_options=relock.Options(),
    )

    assert outcome.notes == [
        "yarn.lock was not updated: it is a yarn berry lockfile, and regenerating it runs the repository's own "
        "yarn (.yarn/releases/yarn-4.18.1.cjs) with the hub's rights, which keepwell does only where the "
        "operator allows running tests (KEEPWELL_DEPS_RUN_TESTS=1); run `yarn install --mode=update-lockfile` "
        "on the branch."
    ]
    assert outcome.run is None and not (repo / "ran").exists()


def test_berry_may_reach_only_the_configured_registry_over_plain_http(tmp_path):
    env = relock._env(relock.Options(npm_registry="http://127.0.0.1:4873/npm"), tmp_path)
    assert env["YARN_NPM_REGISTRY_SERVER"] == "http://127.0.0.1:4873/npm"
    assert env["YARN_UNSAFE_HTTP_WHITELIST"] == "127.0.0.1"
    env = relock._env(relock.Options(npm_registry="https://registry.npmjs.org"), tmp_path)
    assert env["YARN_NPM_REGISTRY_SERVER"] == "https://registry.npmjs.org"
    assert "YARN_UNSAFE_HTTP_WHITELIST" not in env
    assert "YARN_NPM_REGISTRY_SERVER" not in relock._env(relock.Options(), tmp_path)


def test_what_a_tool_leaves_beside_the_manifests_is_removed_and_what_was_there_is_kept(tmp_path):
    (tmp_path / "packages" / "a" / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "packages" / "b").mkdir()
    before = relock._litter(tmp_path)
    for folder in (
        "node_modules/alpha",
        "packages/b/node_modules/beta",
        "packages/a/node_modules/y",
        ".yarn",
    ):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "yarn-error.log").write_text("")
    (tmp_path / ".yarn" / "install-state.gz").write_text("")

    relock._tidy(tmp_path, before)

    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert left == [
        ".yarn",
        "packages",
        "packages/a",
        "packages/a/node_modules",
        "packages/a/node_modules/x",
        "packages/a/node_modules/y",
        "packages/b",
    ]
