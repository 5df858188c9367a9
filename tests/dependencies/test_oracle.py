"""Oracle tests: keepwell's outdated list equals pip's and npm's own for a real environment.

A fake PyPI and npm registry on loopback serve tiny packages built here; pip installs deliberately old ones into
a virtual environment and npm into node_modules; then `pip list --outdated` and `npm outdated` are the oracles.
"""

import json
import shutil
import subprocess
import sys
import venv

import pytest
from deps_registry_server import Registry, start

from keepwell.dependencies.scan import Options, scan

pytestmark = pytest.mark.slow


def _options(reg, tmp_path):
    return Options(pypi_url=reg.url, npm_url=reg.url + "/npm", cache_dir=tmp_path / "cache", eol_url="")


@pytest.fixture
def registry():
    reg = Registry()
    reg.add_pypi("alpha", "1.0.0", 0)
    reg.add_pypi("alpha", "1.4.0", 100)
    reg.add_pypi("alpha", "2.0.0", 200)
    reg.add_pypi("beta-pkg", "0.9", 0)
    reg.add_pypi("beta-pkg", "0.9.1", 30)
    reg.add_pypi("beta-pkg", "0.10", 60, yanked=True, reason="bad build")  # pip skips yanked releases
    reg.add_pypi("gamma", "3.1", 0)
    reg.add_pypi("gamma", "4.0b1", 90)  # a pre-release: not "latest" for either
    reg.add_pypi("delta", "1.0", 0)  # up to date: on neither list
    reg.add_npm("left-pad", "1.0.0", 0)
    reg.add_npm("left-pad", "1.1.0", 40)
    reg.add_npm("left-pad", "1.2.0", 80, deprecated="do not use 1.2.0")
    reg.add_npm("left-pad", "2.0.0", 120)
    reg.add_npm("right-pad", "0.1.0", 0)
    reg.add_npm("right-pad", "0.1.5", 10)
    reg.add_npm("right-pad", "0.2.0", 20)
    reg.add_npm("@acme/widget", "3.0.0", 0)
    reg.add_npm("@acme/widget", "3.5.0", 10)
    reg.add_npm("@acme/widget", "4.0.0-beta.1", 20)
    reg.add_npm("tagged", "1.0.0", 0)
    reg.add_npm("tagged", "1.1.0", 10)
    reg.add_npm("tagged", "2.0.0", 20)
    reg.npm_latest["tagged"] = "1.1.0"  # "latest" is what the dist-tag says, not the highest number
    reg.add_npm("current", "5.0.0", 0)
    reg, stop = start(reg)
    yield reg
    stop()


def test_the_outdated_python_packages_equal_pip_list_outdated(registry, tmp_path):
    env = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env)
    python = str(env / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", "--no-cache-dir"]
    index = ["--index-url", registry.url + "/simple/"]
    subprocess.run(
        [*pip, "install", "-q", *index, "alpha==1.0.0", "beta-pkg==0.9", "gamma==3.1", "delta==1.0"],
        check=True,
        capture_output=True,
    )
    frozen = subprocess.run([*pip, "freeze"], check=True, capture_output=True, text=True).stdout
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text(frozen)
    oracle = subprocess.run(
        [*pip, "list", "--outdated", "--format", "json", *index], check=True, capture_output=True, text=True
    ).stdout
    expected = {(p["name"].lower(), p["version"], p["latest_version"]) for p in json.loads(oracle)}

    report = scan(project, _options(registry, tmp_path))
    ours = {(d.name, d.version, d.latest) for d in report.dependencies if d.outdated}
    assert expected == {("alpha", "1.0.0", "2.0.0"), ("beta-pkg", "0.9", "0.9.1")}
    assert ours == expected


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_the_outdated_node_packages_equal_npm_outdated(registry, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    exact = {
        "left-pad": "1.0.0",
        "right-pad": "0.1.0",
        "@acme/widget": "3.0.0",
        "tagged": "1.0.0",
        "current": "5.0.0",
    }
    (project / "package.json").write_text(
        json.dumps({"name": "p", "version": "1.0.0", "dependencies": exact})
    )
    npm = [
        "npm",
        "--registry",
        registry.url + "/npm/",
        "--cache",
        str(tmp_path / "npm-cache"),
        "--no-update-notifier",
    ]
    subprocess.run(
        [*npm, "install", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    # The manifest moves on (ranges), the lock and node_modules stay: what a real project looks like a while later.
    ranges = {
        "left-pad": "^1.0.0",
        "right-pad": "~0.1.0",
        "@acme/widget": "^3.0.0",
        "tagged": "*",
        "current": "^5.0.0",
    }
    (project / "package.json").write_text(
        json.dumps({"name": "p", "version": "1.0.0", "dependencies": ranges})
    )
    run = subprocess.run([*npm, "outdated", "--json"], cwd=project, capture_output=True, text=True)
    oracle = json.loads(run.stdout or "{}")
    expected = {(name, o["current"], o["wanted"], o["latest"]) for name, o in oracle.items()}

    report = scan(project, _options(registry, tmp_path))
    ours = {
        (d.name, d.version, d.latest_allowed, d.latest)
        for d in report.dependencies
        if d.direct and d.ecosystem == "npm" and (d.version != d.latest_allowed or d.version != d.latest)
    }
    assert ("left-pad", "1.0.0", "1.1.0", "2.0.0") in expected  # the deprecated 1.2.0 is not "wanted"
    assert ours == expected
