"""Benchmark the manifest and lockfile readers on large generated lockfiles of every big format.

Prints the read time of each file with N packages (default 100,000), built in a temporary folder:
package-lock.json v3, yarn.lock v1, pnpm-lock.yaml v9, uv.lock and poetry.lock. Each package depends on the
next, in chains of 100, so the dependency walk is exercised too.

    python bench/readers.py [--packages 100000]

Goal (issue 6): a 100,000-entry lockfile reads in seconds, not minutes.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from keepwell.dependencies.readers import scan


def npm(n):
    packages = {"": {"name": "big", "dependencies": {f"pkg-{i}": "^1.0.0" for i in range(0, n, 100)}}}
    for i in range(n):
        deps = {f"pkg-{i + 1}": "^1.0.0"} if (i + 1) % 100 else {}
        packages[f"node_modules/pkg-{i}"] = {
            "version": "1.0.0",
            "integrity": "sha512-x",
            "dependencies": deps,
        }
    return {"package-lock.json": json.dumps({"lockfileVersion": 3, "packages": packages}, indent=2)}


def yarn(n):
    lines = ["# yarn lockfile v1", ""]
    for i in range(n):
        lines += [f"pkg-{i}@^1.0.0:", '  version "1.0.0"', "  integrity sha512-x"]
        if (i + 1) % 100:
            lines += ["  dependencies:", f'    pkg-{i + 1} "^1.0.0"']
        lines.append("")
    manifest = {"dependencies": {f"pkg-{i}": "^1.0.0" for i in range(0, n, 100)}}
    return {"yarn.lock": "\n".join(lines), "package.json": json.dumps(manifest)}


def pnpm(n):
    lines = ["lockfileVersion: '9.0'", "", "importers:", "", "  .:", "    dependencies:"]
    for i in range(0, n, 100):
        lines += [f"      pkg-{i}:", "        specifier: ^1.0.0", "        version: 1.0.0"]
    lines += ["", "packages:", ""]
    for i in range(n):
        lines += [f"  pkg-{i}@1.0.0:", "    resolution: {integrity: sha512-x}", ""]
    lines += ["snapshots:", ""]
    for i in range(n):
        if (i + 1) % 100:
            lines += [f"  pkg-{i}@1.0.0:", "    dependencies:", f"      pkg-{i + 1}: 1.0.0", ""]
        else:
            lines += [f"  pkg-{i}@1.0.0: {{}}", ""]
    return {"pnpm-lock.yaml": "\n".join(lines)}


def uv(n):
    roots = ", ".join(f'{{ name = "pkg-{i}" }}' for i in range(0, n, 100))
    parts = ['version = 1', 'requires-python = ">=3.11"', "", "[[package]]", 'name = "big"', 'version = "0.1.0"',
             'source = { virtual = "." }', f"dependencies = [{roots}]", ""]  # fmt: skip
    for i in range(n):
        parts += ["[[package]]", f'name = "pkg-{i}"', 'version = "1.0.0"',
                  'source = { registry = "https://pypi.org/simple" }']  # fmt: skip
        if (i + 1) % 100:
            parts.append(f'dependencies = [{{ name = "pkg-{i + 1}" }}]')
        parts.append("")
    return {"uv.lock": "\n".join(parts)}


def poetry(n):
    parts = []
    for i in range(n):
        parts += ["[[package]]", f'name = "pkg-{i}"', 'version = "1.0.0"', 'groups = ["main"]', ""]
        if (i + 1) % 100:
            parts += ["[package.dependencies]", f'pkg-{i + 1} = "*"', ""]
    parts += ["[metadata]", 'lock-version = "2.1"', 'content-hash = "0"']
    deps = "\n".join(f'pkg-{i} = "*"' for i in range(0, n, 100))
    manifest = f'[tool.poetry]\nname = "big"\n\n[tool.poetry.dependencies]\n{deps}\n'
    return {"poetry.lock": "\n".join(parts), "pyproject.toml": manifest}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=100_000)
    args = parser.parse_args()
    for name, build in (
        ("npm v3", npm),
        ("yarn v1", yarn),
        ("pnpm v9", pnpm),
        ("uv", uv),
        ("poetry", poetry),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            size = 0
            for filename, text in build(args.packages).items():
                (Path(tmp) / filename).write_text(text)
                size += len(text)
            started = time.perf_counter()
            result = scan(tmp)
            elapsed = time.perf_counter() - started
            count = len(result.dependencies)
            status = "ok" if not result.errors and count == args.packages else f"ERRORS {result.errors[:1]}"
            print(f"{name:8} {args.packages:>8,} packages  {size / 2**20:6.1f} MiB  {elapsed:6.2f} s  "
                  f"{count:,} read  {status}")  # fmt: skip


if __name__ == "__main__":
    main()
