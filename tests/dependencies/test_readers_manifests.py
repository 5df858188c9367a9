"""Hand-written manifests: requirements files with includes, pyproject.toml flavours, package.json kinds."""

import textwrap

import pytest

from keepwell.dependencies.readers import read_file, scan
from keepwell.dependencies.types import ALIAS, EDITABLE, PATH, REGISTRY, URL, VCS, WORKSPACE, ReadError


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def by_name(deps):
    return {d.name: d for d in deps}


def test_requirements_with_includes_constraints_hashes_markers_and_kinds(tmp_path):
    """Every requirements line form is read; non-registry lines keep their kind and are never given a version."""
    write(
        tmp_path,
        "requirements/base.txt",
        """
        --index-url https://pypi.example.org/simple
        Django>=5.2,<5.3  # the web framework
        requests[socks,security]==2.32.3 ; python_version >= "3.8"
        uvloop==0.21.0; sys_platform != "win32" \\
            --hash=sha256:aaaa \\
            --hash=sha256:bbbb
        -c constraints.txt
        httpx
    """,
    )
    write(tmp_path, "requirements/constraints.txt", "httpx==0.28.1\nnot-used==1.0\n")
    write(
        tmp_path,
        "requirements-dev.txt",
        """
        -r requirements/base.txt
        -e ./tools/lint
        -e git+https://github.com/example/plugin.git@v1#egg=example-plugin
        mylib @ https://files.example.org/mylib-1.0.tar.gz
        otherlib @ git+https://github.com/example/otherlib@abc123
        ./vendor/localpkg
        https://files.example.org/Some_Wheel-2.0-py3-none-any.whl
        pytest==8.3.4
    """,
    )
    deps = by_name(read_file(tmp_path / "requirements-dev.txt"))
    assert set(deps) == {
        "django", "requests", "uvloop", "httpx", "lint", "example-plugin", "mylib", "otherlib", "localpkg",
        "some-wheel", "pytest",
    }  # fmt: skip
    assert (deps["django"].version, deps["django"].specifier, deps["django"].dev) == (
        None,
        "<5.3,>=5.2",
        False,
    )
    assert deps["django"].source == "requirements/base.txt" and deps["django"].line == 2
    assert (
        deps["requests"].extras == ("security", "socks")
        and deps["requests"].markers == 'python_version >= "3.8"'
    )
    assert deps["uvloop"].hashes == ("sha256:aaaa", "sha256:bbbb") and deps["uvloop"].version == "0.21.0"
    assert deps["uvloop"].markers == 'sys_platform != "win32"'
    assert deps["httpx"].version == "0.28.1"  # from the constraints file
    assert (deps["lint"].kind, deps["lint"].url, deps["lint"].version) == (EDITABLE, "./tools/lint", None)
    assert deps["example-plugin"].kind == EDITABLE
    assert (deps["mylib"].kind, deps["mylib"].url) == (URL, "https://files.example.org/mylib-1.0.tar.gz")
    assert deps["otherlib"].kind == VCS and deps["otherlib"].version is None
    assert (deps["localpkg"].kind, deps["localpkg"].url) == (PATH, "./vendor/localpkg")
    assert deps["some-wheel"].kind == URL
    assert deps["pytest"].dev and deps["pytest"].source == "requirements-dev.txt"


@pytest.mark.parametrize(
    "text, message",
    [
        ("requests>>=2\n", "cannot parse"),
        ("-r missing.txt\n", "missing.txt"),
        ("-r ../../etc/passwd\n", "outside the scanned repository"),
        ("--frobnicate\n", "--frobnicate"),
        ("-r https://example.org/reqs.txt\n", "network"),
    ],
)
def test_requirements_errors_name_the_file_and_line(tmp_path, text, message):
    write(tmp_path, "requirements.txt", "six==1.16.0\n" + text)
    with pytest.raises(ReadError) as error:
        read_file(tmp_path / "requirements.txt")
    assert error.value.file == "requirements.txt" and error.value.line == 2
    assert message in str(error.value)


def test_requirements_include_cycles_are_read_once(tmp_path):
    write(tmp_path, "requirements.txt", "-r other.txt\nsix==1.16.0\n")
    write(tmp_path, "other.txt", "-r requirements.txt\nidna==3.4\n")
    assert {d.name for d in read_file(tmp_path / "requirements.txt")} == {"six", "idna"}


def test_pyproject_pep_621_pep_735_pdm_and_uv_sections(tmp_path):
    write(
        tmp_path,
        "pyproject.toml",
        """
        [project]
        name = "svc"
        requires-python = ">=3.11"
        dependencies = ["Django>=5.2", "attrs==24.2.0", "local-lib", "vcs-lib @ git+https://example.org/x.git"]

        [project.optional-dependencies]
        pg = ["psycopg[binary]>=3.2"]

        [dependency-groups]
        test = ["pytest>=8"]
        lint = ["ruff"]
        dev = [{include-group = "test"}, {include-group = "lint"}, "ipython"]

        [tool.uv]
        dev-dependencies = ["coverage"]

        [tool.uv.sources]
        local-lib = { path = "../lib", editable = true }

        [tool.pdm.dev-dependencies]
        docs = ["mkdocs>=1.6", "-e file:///${PROJECT_ROOT}/plugins/docs-plugin#egg=docs-plugin"]
    """,
    )
    deps = read_file(tmp_path / "pyproject.toml")
    table = {(d.name, d.groups): (d.dev, d.optional, d.version, d.kind) for d in deps}
    assert table == {
        ("django", ()): (False, False, None, REGISTRY),
        ("attrs", ()): (False, False, "24.2.0", REGISTRY),
        ("local-lib", ()): (False, False, None, EDITABLE),
        ("vcs-lib", ()): (False, False, None, VCS),
        ("psycopg", ("pg",)): (False, True, None, REGISTRY),
        ("pytest", ("test",)): (True, False, None, REGISTRY),
        ("ruff", ("lint",)): (True, False, None, REGISTRY),
        ("pytest", ("dev",)): (True, False, None, REGISTRY),
        ("ruff", ("dev",)): (True, False, None, REGISTRY),
        ("ipython", ("dev",)): (True, False, None, REGISTRY),
        ("coverage", ("dev",)): (True, False, None, REGISTRY),
        ("mkdocs", ("docs",)): (True, False, None, REGISTRY),
        ("docs-plugin", ("docs",)): (True, False, None, EDITABLE),
    }
    result = scan(tmp_path)
    (project,) = result.projects
    assert project.python_requires == ">=3.11" and project.name == "svc"
    merged = by_name(project.dependencies)
    assert merged["pytest"].dev and set(merged["pytest"].groups) == {"test", "dev"}


def test_pyproject_group_cycle_is_an_error(tmp_path):
    write(
        tmp_path,
        "pyproject.toml",
        """
        [dependency-groups]
        a = [{include-group = "b"}]
        b = [{include-group = "a"}]
    """,
    )
    with pytest.raises(ReadError, match="cycle"):
        read_file(tmp_path / "pyproject.toml")


def test_pyproject_poetry_sections(tmp_path):
    write(
        tmp_path,
        "pyproject.toml",
        """
        [tool.poetry]
        name = "svc"

        [tool.poetry.dependencies]
        python = ">=3.10,<3.13"
        flask = "2.3.3"
        requests = { version = "^2.31", extras = ["socks"] }
        mylib = { git = "https://github.com/example/mylib.git", rev = "v1" }
        shared = { path = "../shared", develop = true }
        numpy = [{ version = "1.26.4", python = "<3.12" }, { version = "2.1.0", python = ">=3.12" }]

        [tool.poetry.group.test.dependencies]
        pytest = "^8"
    """,
    )
    deps = read_file(tmp_path / "pyproject.toml")
    table = {(d.name, d.version): (d.kind, d.dev, d.groups) for d in deps}
    assert table == {
        ("flask", "2.3.3"): (REGISTRY, False, ("main",)),
        ("requests", None): (REGISTRY, False, ("main",)),
        ("mylib", None): (VCS, False, ("main",)),
        ("shared", None): (EDITABLE, False, ("main",)),
        ("numpy", "1.26.4"): (REGISTRY, False, ("main",)),
        ("numpy", "2.1.0"): (REGISTRY, False, ("main",)),
        ("pytest", None): (REGISTRY, True, ("test",)),
    }
    assert scan(tmp_path).projects[0].python_requires == ">=3.10,<3.13"


def test_package_json_kinds(tmp_path):
    write(
        tmp_path,
        "package.json",
        """
        {"name": "web", "engines": {"node": "20.x"},
         "dependencies": {"react": "18.3.1", "lodash": "^4.17.21", "old": "npm:lodash@4.17.20",
                          "mine": "file:../mine", "forked": "github:me/forked#v2", "tar": "https://x.org/t.tgz",
                          "sibling": "workspace:^"},
         "peerDependencies": {"react-dom": "^18"},
         "peerDependenciesMeta": {"react-dom": {"optional": true}}}
    """,
    )
    deps = {d.alias or d.name: d for d in read_file(tmp_path / "package.json")}
    assert (deps["react"].version, deps["react"].kind) == ("18.3.1", REGISTRY)
    assert (deps["lodash"].version, deps["lodash"].specifier) == (None, "^4.17.21")
    alias = deps["old"]
    assert (alias.name, alias.kind, alias.version) == ("lodash", ALIAS, "4.17.20")
    assert [deps[n].kind for n in ("mine", "forked", "tar", "sibling")] == [PATH, VCS, URL, WORKSPACE]
    assert deps["react-dom"].optional and deps["react-dom"].groups == ("peerDependencies",)
    assert scan(tmp_path).projects[0].node_engines == "20.x"


def test_yarn_berry_patches_and_git_dependencies(tmp_path):
    """A berry patch resolves to the registry version it patches; git resolutions are VCS."""
    write(
        tmp_path,
        "package.json",
        '{"name": "app", "dependencies": {"resolve": "^1.22.1", "lib": "https://github.com/me/lib.git#main"}}',
    )
    write(
        tmp_path,
        "yarn.lock",
        """
        __metadata:
          version: 8
          cacheKey: 10c0

        "app@workspace:.":
          version: 0.0.0-use.local
          resolution: "app@workspace:."
          dependencies:
            lib: "https://github.com/me/lib.git#main"
            resolve: "patch:resolve@npm%3A^1.22.1#~builtin<compat/resolve>"
          languageName: unknown
          linkType: soft

        "lib@https://github.com/me/lib.git#main":
          version: 1.0.0
          resolution: "lib@https://github.com/me/lib.git#commit=0123abc"
          languageName: node
          linkType: hard

        "resolve@npm:^1.22.1":
          version: 1.22.8
          resolution: "resolve@npm:1.22.8"
          checksum: 10c0/aaaa
          languageName: node
          linkType: hard

        "resolve@patch:resolve@npm%3A^1.22.1#~builtin<compat/resolve>":
          version: 1.22.8
          resolution: "resolve@patch:resolve@npm%3A1.22.8#~builtin<compat/resolve>::version=1.22.8&hash=c3c19d"
          languageName: node
          linkType: hard
    """,
    )
    (project,) = scan(tmp_path).projects
    deps = {(d.name, d.direct): d for d in project.dependencies}
    assert (deps[("resolve", True)].version, deps[("resolve", True)].kind) == ("1.22.8", REGISTRY)
    assert (deps[("lib", True)].kind, deps[("lib", True)].version) == (VCS, None)
    assert len(project.dependencies) == 2
