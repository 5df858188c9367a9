"""The readers against real lockfiles made by the real tools, checked against what those tools report."""

import json
import re
from pathlib import Path

import pytest

from keepwell.dependencies.readers import normalize, read_file, scan
from keepwell.dependencies.types import ALIAS, NPM, PYPI, WORKSPACE

FIXTURES = Path(__file__).parent / "fixtures"


def project(result, path):
    (found,) = [p for p in result.projects if p.path == path]
    return found


def table(deps):
    """Return {(name, version): (direct, dev, optional)} for easy comparison."""
    return {(d.name, d.version): (d.direct, d.dev, d.optional) for d in deps}


@pytest.fixture(scope="module")
def everything():
    result = scan(FIXTURES)
    assert result.errors == []
    return result


def npm_ls_versions(tree, out=None):
    """Flatten `npm ls --all --json` into a set of (name, version), skipping workspace links."""
    out = set() if out is None else out
    for name, node in (tree.get("dependencies") or {}).items():
        if "version" in node and not str(node.get("resolved", "")).startswith("file:"):
            out.add((name, node["version"]))
        npm_ls_versions(node, out)
    return out


SHOP_WEB = {
    ("debug", "4.4.3"): (True, False, False),
    ("left-pad", "1.3.0"): (True, False, False),
    ("ms", "2.1.2"): (True, False, True),
    ("strip-ansi", "6.0.1"): (True, False, False),
    ("is-number", "7.0.0"): (True, True, False),
    ("ansi-regex", "5.0.1"): (False, False, False),
    ("ms", "2.1.3"): (False, False, False),
}


@pytest.mark.parametrize(
    "path, lockfile",
    [
        ("npm/v1", "package-lock.json"),
        ("npm/v2", "package-lock.json"),
        ("npm/v3", "package-lock.json"),
        ("yarn/v1", "yarn.lock"),
        ("yarn/berry", "yarn.lock"),
        ("pnpm/v6", "pnpm-lock.yaml"),
        ("pnpm/v9", "pnpm-lock.yaml"),
    ],
)
def test_every_npm_lockfile_format_gives_the_same_tree(everything, path, lockfile):
    """npm v1-v3, yarn v1 and berry, pnpm v6 and v9 locks of one package.json read the same."""
    found = project(everything, path)
    assert found.lockfile == f"{path}/{lockfile}"
    assert found.manifest == f"{path}/package.json"
    assert found.name == "shop-web"
    assert found.node_engines == ">=18"
    assert table(found.dependencies) == SHOP_WEB
    alias = next(d for d in found.dependencies if d.kind == ALIAS)
    assert (alias.name, alias.alias, alias.version, alias.specifier) == (
        "strip-ansi",
        "strip-ansi-cjs",
        "6.0.1",
        "^6.0.1",
    )
    debug = next(d for d in found.dependencies if d.name == "debug")
    assert debug.specifier == "^4.3.4" and debug.groups == ("dependencies",) and debug.line
    assert all(d.ecosystem == NPM for d in found.dependencies)


def test_the_npm_lock_matches_npm_ls(everything):
    """The versions read from package-lock.json are the ones `npm ls --all` printed."""
    oracle = npm_ls_versions(json.loads((FIXTURES / "npm/v3/npm-ls.json").read_text()))
    oracle = {("strip-ansi" if n == "strip-ansi-cjs" else n, v) for n, v in oracle}
    assert {(d.name, d.version) for d in project(everything, "npm/v3").dependencies} == oracle


def test_the_line_points_at_the_package_in_the_lockfile(everything):
    """A dependency's line is where its entry starts in the lockfile."""
    for path in ("npm/v3", "yarn/v1", "pnpm/v9", "uv/project", "poetry/poetry-2"):
        found = project(everything, path)
        text = (FIXTURES / found.lockfile).read_text().splitlines()
        for dep in found.dependencies:
            assert dep.name in text[dep.line - 1] or (dep.alias and dep.alias in text[dep.line - 1]), dep
            if (
                found.lockfile.endswith(".lock") and "yarn" not in found.lockfile
            ):  # TOML: the entry's own name
                assert text[dep.line - 2] == "[[package]]", dep


def test_npm_workspaces_are_projects_with_their_own_closure(everything):
    """Each workspace member is a project; its dependencies follow node's resolution from its folder."""
    ui = project(everything, "npm/workspace/packages/ui")
    assert ui.lockfile == "npm/workspace/package-lock.json"
    assert table(ui.dependencies) == {
        ("debug", "4.4.3"): (True, False, False),
        ("left-pad", "1.3.0"): (True, False, False),
        ("ms", "2.1.2"): (True, True, False),  # packages/ui/node_modules/ms
        ("ms", "2.1.3"): (False, False, False),  # hoisted, required by debug
    }
    api = project(everything, "npm/workspace/packages/api")
    workspace = next(d for d in api.dependencies if d.name == "@shop/ui")
    assert (workspace.kind, workspace.version) == (WORKSPACE, "0.1.0")
    oracle = npm_ls_versions(json.loads((FIXTURES / "npm/workspace/npm-ls.json").read_text()))
    oracle = {(n, v) for n, v in oracle if not n.startswith("@shop/")}  # the members themselves
    everything_read = {
        (d.name, d.version)
        for p in everything.projects
        if p.path.startswith("npm/workspace")
        for d in p.dependencies
        if d.kind != WORKSPACE
    }
    assert everything_read == oracle
    assert table(project(everything, "npm/workspace").dependencies) == {
        ("is-number", "7.0.0"): (True, True, False)
    }


def test_pnpm_workspace_importers_are_projects(everything):
    """pnpm importers map to the member folders, with workspace: links reported as such."""
    api = project(everything, "pnpm/workspace/packages/api")
    assert {(d.name, d.version, d.kind, d.direct) for d in api.dependencies} == {
        ("@shop/ui", None, WORKSPACE, True),
        ("ms", "2.1.3", "registry", True),
        # brought in by the linked member, as in npm's tree for the same workspace
        ("debug", "4.4.3", "registry", False),
        ("left-pad", "1.3.0", "registry", False),
    }
    assert table(project(everything, "pnpm/workspace/packages/ui").dependencies) == {
        ("debug", "4.4.3"): (True, False, False),
        ("left-pad", "1.3.0"): (True, False, False),
        ("ms", "2.1.2"): (True, True, False),
        ("ms", "2.1.3"): (False, False, False),
    }


def uv_tree(path):
    """Return {(name, version)} from `uv tree` output."""
    text = (FIXTURES / path).read_text()
    return {(normalize(PYPI, m[0]), m[1]) for m in re.findall(r"([A-Za-z0-9_.-]+) v(\S+)", text)}


def test_uv_lock_matches_uv_tree(everything):
    """uv.lock gives what `uv tree` printed, with groups, extras and dev flags."""
    found = project(everything, "uv/project")
    assert found.python_requires == ">=3.11" and found.lockfile == "uv/project/uv.lock"
    read = {(d.name, d.version) for d in found.dependencies}
    # colorama is locked for Windows only; `uv tree` on Linux leaves it out.
    assert read - {("colorama", "0.4.6")} == uv_tree("uv/project/uv-tree.txt") - {("billing", "0.1.0")}
    deps = {d.name: d for d in found.dependencies}
    assert (deps["requests"].direct, deps["requests"].dev, deps["requests"].specifier) == (
        True,
        False,
        ">=2.31,<3",
    )
    assert (deps["rich"].optional, deps["rich"].groups) == (True, ("color",))
    assert (deps["pytest"].dev, set(deps["pytest"].groups)) == (True, {"dev", "test"})
    assert (deps["urllib3"].direct, deps["urllib3"].dev) == (False, False)
    assert (deps["pluggy"].direct, deps["pluggy"].dev) == (False, True)
    assert (deps["mdurl"].direct, deps["mdurl"].optional) == (False, True)
    assert deps["click"].hashes[0].startswith("sha256:")


def test_uv_workspace_members_are_projects(everything):
    """A uv workspace gives one project per member, with member-to-member links as workspace kind."""
    worker = project(everything, "uv/workspace/packages/worker")
    assert worker.name == "platform_worker" and worker.lockfile == "uv/workspace/uv.lock"
    assert table(worker.dependencies) == {
        ("platform-core", "0.3.0"): (True, False, False),
        ("six", "1.16.0"): (True, False, False),
        ("pluggy", "1.7.0"): (True, True, False),
        ("attrs", "26.1.0"): (False, False, False),
    }
    assert next(d for d in worker.dependencies if d.name == "platform-core").kind == WORKSPACE
    root = project(everything, "uv/workspace")
    read = {
        (d.name, d.version)
        for p in everything.projects
        if p.path.startswith("uv/workspace")
        for d in p.dependencies
    }
    assert read == uv_tree("uv/workspace/uv-tree.txt") - {("platform", "1.0.0"), ("platform-worker", "0.1.0")}
    assert table(root.dependencies)[("iniconfig", "2.3.1")] == (True, True, False)


def test_poetry_2_lock_matches_poetry_show(everything):
    """poetry.lock (lock-version 2.1) gives what `poetry show --with docs` printed, with its groups."""
    found = project(everything, "poetry/poetry-2")
    oracle = {
        (normalize(PYPI, m[0]), m[1])
        for m in re.findall(
            r"^(\S+)\s+(?:\(!\)\s+)?(\S+)", (FIXTURES / "poetry/poetry-2/poetry-show.txt").read_text(), re.M
        )
    }
    assert {(d.name, d.version) for d in found.dependencies} - {("colorama", "0.4.6")} == oracle
    deps = {d.name: d for d in found.dependencies}
    assert (deps["pytest"].direct, deps["pytest"].dev, deps["pytest"].groups) == (True, True, ("dev",))
    assert (deps["mdurl"].dev, deps["mdurl"].groups) == (True, ("docs",))
    assert (deps["pyyaml"].optional, deps["pyyaml"].groups, deps["pyyaml"].specifier) == (
        True,
        ("yaml",),
        "6.0.*",
    )
    assert (deps["urllib3"].direct, deps["urllib3"].dev) == (False, False)
    assert (deps["pluggy"].direct, deps["pluggy"].dev) == (False, True)
    assert found.python_requires == "^3.11"


def test_poetry_1_8_lock_uses_the_legacy_dev_dependencies(everything):
    """Poetry 1.8's lock (lock-version 2.0, no groups) with [tool.poetry.dev-dependencies]."""
    assert table(project(everything, "poetry/poetry-1.8").dependencies) == {
        ("idna", "3.20"): (True, False, False),
        ("six", "1.16.0"): (True, False, False),
        ("iniconfig", "2.3.1"): (True, True, False),
    }


def test_poetry_lock_1_1_with_categories_and_metadata_files():
    """The old format: category per package and hashes under [metadata.files]."""
    deps = {d.name: d for d in read_file(FIXTURES / "poetry/lock-1.1/poetry.lock")}
    assert table(deps.values()) == {
        ("requests", "2.28.1"): (True, False, False),
        ("idna", "3.4"): (False, False, False),
        ("pytest", "7.2.0"): (True, True, False),
        ("iniconfig", "1.1.1"): (False, True, False),
    }
    assert deps["idna"].hashes == ("sha256:814f528e8dead7d329833b91c5faa87d60bf71824cd12a7530b5526063d02cb4",)


def test_pipfile_lock_with_its_pipfile(everything):
    """Pipfile.lock versions, with direct and dev taken from the Pipfile."""
    found = project(everything, "pipenv")
    assert table(found.dependencies) == {
        ("requests", "2.34.2"): (True, False, False),
        ("six", "1.16.0"): (True, False, False),
        ("iniconfig", "2.3.1"): (True, True, False),
        ("certifi", "2026.10.19.post1"): (False, False, False),
        ("charset-normalizer", "3.5.3"): (False, False, False),
        ("idna", "3.20"): (False, False, False),
        ("urllib3", "2.8.0"): (False, False, False),
    }
    assert found.python_requires == "==3.11.*"


def test_pylock_toml_from_uv_export(everything):
    """pylock.toml (PEP 751) from `uv export` gives the same versions as the uv.lock it came from."""
    found = project(everything, "pylock")
    assert {(d.name, d.version) for d in found.dependencies} == {
        (d.name, d.version) for d in project(everything, "uv/project").dependencies
    }
    colorama = next(d for d in found.dependencies if d.name == "colorama")
    assert colorama.markers == "sys_platform == 'win32'" and not colorama.direct


def test_pip_compile_output_knows_direct_from_its_via_comments(everything):
    """pip-compile's "# via -r requirements.in" marks direct lines; "# via requests" transitive ones."""
    found = project(everything, "pip/compiled")
    assert table(found.dependencies) == {
        ("click", "8.5.1"): (True, False, False),
        ("requests", "2.34.2"): (True, False, False),
        ("certifi", "2026.10.19.post1"): (False, False, False),
        ("charset-normalizer", "3.5.3"): (False, False, False),
        ("idna", "3.20"): (False, False, False),
        ("urllib3", "2.8.0"): (False, False, False),
    }
    charset = next(d for d in found.dependencies if d.name == "charset-normalizer")
    assert len(charset.hashes) > 10 and all(h.startswith("sha256:") for h in charset.hashes)


def test_pip_freeze_output(everything):
    """`pip freeze` output: every line pinned and taken as direct."""
    assert table(project(everything, "pip/freeze").dependencies) == {
        ("idna", "3.4"): (True, False, False),
        ("iniconfig", "2.0.0"): (True, False, False),
        ("six", "1.16.0"): (True, False, False),
    }


def test_normalize_follows_pep_503_for_pypi_only():
    assert normalize(PYPI, "Django_Ninja") == "django-ninja"
    assert normalize(PYPI, "zope.interface") == "zope-interface"
    assert normalize(PYPI, "A__b--c..d") == "a-b-c-d"
    assert normalize(NPM, "@Scope/Some_Pkg") == "@Scope/Some_Pkg"


def test_read_file_reads_a_lock_with_the_manifest_beside_it(everything):
    """read_file on a lockfile gives what scan gives for that project."""
    for path, lockfile in (
        ("pipenv", "Pipfile.lock"),
        ("yarn/v1", "yarn.lock"),
        ("poetry/poetry-2", "poetry.lock"),
    ):
        alone = read_file(FIXTURES / path / lockfile, root=FIXTURES)
        assert table(alone) == table(project(everything, path).dependencies)
        assert {d.source for d in alone} == {f"{path}/{lockfile}"}


def test_a_lock_without_its_manifest_marks_nothing_direct_it_cannot_know(tmp_path):
    """A yarn v1 lock alone says nothing about direct dependencies: all are reported, none as direct."""
    (tmp_path / "yarn.lock").write_text((FIXTURES / "yarn/v1/yarn.lock").read_text())
    deps = read_file(tmp_path / "yarn.lock")
    assert {(d.name, d.version) for d in deps} == set(SHOP_WEB)
    assert not any(d.direct for d in deps)


@pytest.mark.parametrize("path", ["yarn/v1-workspace", "yarn/berry-workspace"])
def test_yarn_workspaces_are_projects(everything, path):
    """yarn v1 (members from package.json workspaces) and berry (workspace: entries) give one project each."""
    ui = project(everything, f"{path}/packages/ui")
    assert ui.lockfile == f"{path}/yarn.lock"
    assert {(d.name, d.version): (d.direct, d.dev) for d in ui.dependencies if d.version} == {
        ("left-pad", "1.3.0"): (True, False),
        ("ms", "2.1.2"): (True, True),
    }
    debug = next(d for d in ui.dependencies if d.name == "debug")  # a peer yarn does not install
    assert (debug.version, debug.specifier, debug.groups) == (None, "^4", ("peerDependencies",))
    api = project(everything, f"{path}/packages/api")
    assert {(d.name, d.version, d.kind, d.direct) for d in api.dependencies} == {
        ("@shop/ui", None, WORKSPACE, True),
        ("ms", "2.1.3", "registry", True),
        ("left-pad", "1.3.0", "registry", False),  # ui's runtime dependency; its dev ms 2.1.2 is not
    }
    assert table(project(everything, path).dependencies) == {("is-number", "7.0.0"): (True, True, False)}
