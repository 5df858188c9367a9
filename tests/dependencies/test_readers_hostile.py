"""Malformed, truncated, huge and hostile input: a clear ReadError naming file and line, the rest still read."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from keepwell.dependencies.readers import read_file, scan
from keepwell.dependencies.types import ReadError

FIXTURES = Path(__file__).parent / "fixtures"

LOCKFILES = [
    "npm/v1/package-lock.json",
    "npm/v3/package-lock.json",
    "yarn/v1/yarn.lock",
    "yarn/berry/yarn.lock",
    "pnpm/v6/pnpm-lock.yaml",
    "pnpm/v9/pnpm-lock.yaml",
    "uv/project/uv.lock",
    "poetry/poetry-2/poetry.lock",
    "pipenv/Pipfile.lock",
    "pylock/pylock.toml",
    "npm/v3/package.json",
    "uv/project/pyproject.toml",
    "pipenv/Pipfile",
]


def copy_project(source: Path, target: Path) -> None:
    shutil.copytree(source.parent, target, ignore=shutil.ignore_patterns(".yarn", "node_modules"))


def truncate_mid_entry(text: str) -> str:
    """Cut a file in the middle of an entry, as an interrupted write would."""
    cut = len(text) * 2 // 3
    # cut just after an opening quote or bracket: inside a value, so no format can read it as complete
    while cut < len(text) and text[cut] not in "\"'{[":
        cut += 1
    return text[: cut + 1]


@pytest.mark.parametrize("rel", LOCKFILES)
def test_a_truncated_file_names_the_file_and_line(tmp_path, rel):
    source = FIXTURES / rel
    copy_project(source, tmp_path / "p")
    broken = tmp_path / "p" / source.name
    broken.write_text(truncate_mid_entry(source.read_text()))
    with pytest.raises(ReadError) as error:
        read_file(broken, root=tmp_path)
    assert error.value.file == f"p/{source.name}"
    assert error.value.line, str(error.value)
    assert str(error.value).startswith(f"p/{source.name}:{error.value.line}: ")


MALFORMED = {
    "package-lock.json": (
        '{"lockfileVersion": 3, "packages": {"": {}, "node_modules/a": {"version": 1.0,}}}',
        1,
    ),
    "package.json": ('{\n  "dependencies": {\n    "a": "1.0.0"\n    "b": "2"\n  }\n}\n', 4),
    "yarn.lock": ('# yarn lockfile v1\n\na@^1.0.0:\n  version "1.0.0"\n  this is not a field\n', 5),
    "pnpm-lock.yaml": ("lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies: [unclosed\n", 5),
    "uv.lock": ('version = 1\n[[package]]\nname = "a"\nversion = 1.0.0\n', 4),
    "poetry.lock": ('[[package]]\nname = "a"\nversion = "1.0"\n[package.dependencies\n', 4),
    "Pipfile.lock": ('{"_meta": {}, "default": {"a": {"version": "==1.0"}}, "develop": {"b": [}}', 1),
    "pylock.toml": ('lock-version = "1.0"\n[[packages]]\nname = "a"\nversion = "1"\nversion = "2"\n', 5),
    "pyproject.toml": ('[project]\nname = "x"\ndependencies = ["requests >>= 2"]\n', 3),
    "requirements.txt": ("six==1.16.0\nrequests >>= 2\n", 2),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_files_give_the_line_and_scan_reads_the_rest(tmp_path, name):
    text, line = MALFORMED[name]
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / name).write_text(text)
    shutil.copytree(FIXTURES / "pip/freeze", tmp_path / "good")
    result = scan(tmp_path)
    (error,) = result.errors
    assert (error.file, error.line) == (f"broken/{name}", line), str(error)
    good = [p for p in result.projects if p.path == "good"]
    assert {d.name for d in good[0].dependencies} == {"idna", "iniconfig", "six"}


def test_wrong_shapes_are_errors_not_crashes(tmp_path):
    """Valid syntax with the wrong structure gives a ReadError, never an unexpected exception."""
    cases = {
        "a/package-lock.json": '{"lockfileVersion": 2, "packages": {"node_modules/x": "1.0"}}',
        "b/package.json": '{"dependencies": ["a", "b"]}',
        "c/uv.lock": 'version = 1\npackage = "nope"\n',
        "d/poetry.lock": "[[package]]\nname = 3\n",
        "e/pnpm-lock.yaml": "lockfileVersion: '9.0'\nimporters: [1, 2]\n",
        "f/Pipfile.lock": '{"default": {"a": "==1"}}',
        "g/yarn.lock": "__metadata:\n  version: 8\n\nx@npm:1:\n  version: 1\n",
        "h/pyproject.toml": '[project]\ndependencies = "requests"\n',
        "i/pylock.toml": 'lock-version = "2.0"\n',
        "j/package-lock.json": "[]",
    }
    for rel, text in cases.items():
        (tmp_path / rel).parent.mkdir(parents=True)
        (tmp_path / rel).write_text(text)
    result = scan(tmp_path)
    assert sorted(e.file for e in result.errors) == sorted(cases)
    assert all(e.message for e in result.errors)


def test_a_file_larger_than_the_limit_is_refused(tmp_path):
    (tmp_path / "package-lock.json").write_text('{"lockfileVersion": 3, "packages": {}}' + " " * 2000)
    shutil.copytree(FIXTURES / "pip/freeze", tmp_path / "good")
    result = scan(tmp_path, max_file_size=1000)
    (error,) = result.errors
    assert error.file == "package-lock.json" and "too large" in error.message
    assert [p.path for p in result.projects] == ["good"]


def test_deeply_nested_json_is_refused(tmp_path):
    (tmp_path / "package.json").write_text('{"dependencies": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (error,) = scan(tmp_path).errors
    assert error.file == "package.json" and "nested" in error.message


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    lines = ["lockfileVersion: '9.0'", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 9) + "]")
    lines.append("importers: {'.': {dependencies: {x: *j}}}")
    (tmp_path / "pnpm-lock.yaml").write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    (error,) = scan(tmp_path).errors
    assert time.monotonic() - started < 5
    assert error.file == "pnpm-lock.yaml" and "alias" in error.message and error.line == 3


def test_symlink_loops_and_links_leaving_the_root_are_skipped(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "pip/freeze", repo)
    os.symlink(repo, repo / "loop")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "requirements.txt").write_text("secret-package==1.0\n")
    os.symlink(outside / "requirements.txt", repo / "requirements-dev.txt")
    os.symlink(outside, repo / "elsewhere")
    (repo / "requirements-test.txt").write_text("-r ../outside/requirements.txt\n")
    result = scan(repo)
    names = {d.name for d in result.dependencies}
    assert "secret-package" not in names and names == {"idna", "iniconfig", "six"}
    (error,) = result.errors
    assert error.file == "requirements-test.txt" and "outside" in error.message


def test_vendored_directories_are_not_scanned(tmp_path):
    for skipped in ("node_modules/x", ".venv/lib", "venv", ".git", "dist", "build", "src/__pycache__"):
        (tmp_path / skipped).mkdir(parents=True)
        (tmp_path / skipped / "package.json").write_text('{"dependencies": {"evil": "1.0.0"}}')
    (tmp_path / "package.json").write_text('{"dependencies": {"good": "1.0.0"}}')
    assert [d.name for d in scan(tmp_path).dependencies] == ["good"]


@pytest.mark.slow
def test_a_huge_npm_lockfile_is_read_whole(tmp_path):
    """100,000 packages in a package-lock.json v3 (how fast: bench/readers.py)."""
    count = 100_000
    packages = {"": {"name": "big", "dependencies": {f"pkg-{i}": "^1.0.0" for i in range(0, count, 100)}}}
    for i in range(count):
        deps = {f"pkg-{i + 1}": "^1.0.0"} if (i + 1) % 100 else {}
        packages[f"node_modules/pkg-{i}"] = {
            "version": f"1.0.{i % 7}",
            "integrity": "sha512-x",
            "dependencies": deps,
        }
    (tmp_path / "package-lock.json").write_text(
        json.dumps({"lockfileVersion": 3, "packages": packages}, indent=1)
    )
    result = scan(tmp_path)
    assert result.errors == []
    deps = result.dependencies
    assert len(deps) == count
    assert sum(d.direct for d in deps) == count // 100


@pytest.mark.slow
def test_a_huge_yarn_v1_lockfile_is_read_whole(tmp_path):
    """100,000 entries in the yarn v1 format (how fast: bench/readers.py)."""
    count = 100_000
    lines = ["# yarn lockfile v1", ""]
    for i in range(count):
        lines += [f"pkg-{i}@^1.0.0:", f'  version "1.0.{i % 7}"', "  integrity sha512-x"]
        if (i + 1) % 100:
            lines += ["  dependencies:", f'    pkg-{i + 1} "^1.0.0"']
        lines.append("")
    (tmp_path / "yarn.lock").write_text("\n".join(lines))
    (tmp_path / "package.json").write_text(json.dumps({"dependencies": {"pkg-0": "^1.0.0"}}))
    result = scan(tmp_path)
    assert result.errors == [] and len(result.dependencies) == count
    assert [d.name for d in result.dependencies if d.direct] == ["pkg-0"]


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    (tmp_path / "requirements.txt").write_bytes(b"six==1.16.0\nidna==3.4\ncaf\xe9==1.0\n")
    (error,) = scan(tmp_path).errors
    assert (error.file, error.line) == ("requirements.txt", 3) and "UTF-8" in error.message


def test_scanning_something_that_is_not_a_folder_says_so(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ReadError, match="not a directory"):
        scan(tmp_path / "file")
