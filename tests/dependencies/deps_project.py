"""A tiny repository and a registry that knows its dependencies, shared by the scan, CLI and hub tests."""

import json

from deps_registry_server import Registry

REQUIREMENTS = "alpha==1.0.0\nbeta-pkg==0.9\nold-thing==1.0\nyanked-one==2.0\n-e ./local-lib\n"
PACKAGE_JSON = {"name": "shop", "version": "1.0.0", "dependencies": {"left-pad": "^1.0.0"}}


def build_registry() -> Registry:
    reg = Registry()
    reg.add_pypi("alpha", "1.0.0", 0)  # 2020-01-01
    reg.add_pypi("alpha", "1.4.0", 365)
    reg.add_pypi("alpha", "2.0.0", 730.5)  # two years later: 2 libyears behind
    reg.add_pypi("beta-pkg", "0.9", 0)
    reg.add_pypi("beta-pkg", "0.9.1", 36.525)
    reg.add_pypi("old-thing", "1.0", 0)  # current, but no release since 2020
    reg.add_pypi("yanked-one", "2.0", 10, yanked=True, reason="security hole")
    reg.add_pypi("yanked-one", "1.9", 5)
    reg.add_npm("left-pad", "1.0.0", 0)
    reg.add_npm("left-pad", "1.1.0", 40, deprecated="use padStart")
    reg.add_npm("left-pad", "3.0.0", 100)
    return reg


def write_project(root, requirements=REQUIREMENTS, package=None, extra=None):
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.txt").write_text(requirements)
    (root / "package.json").write_text(json.dumps(package or PACKAGE_JSON))
    lock = {
        "name": "shop",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            "": {"name": "shop", "version": "1.0.0", "dependencies": {"left-pad": "^1.0.0"}},
            "node_modules/left-pad": {"version": "1.0.0"},
        },
    }
    (root / "package-lock.json").write_text(json.dumps(lock))
    (root / "Dockerfile").write_text("FROM python:3.8-slim\n")
    (root / "local-lib").mkdir(exist_ok=True)
    for name, text in (extra or {}).items():
        (root / name).write_text(text)
    return root
