"""Benchmark `keepwell deps scan` on a 500-dependency lockfile against a fake registry on loopback.

Prints the time and the number of registry requests of a scan with a cold cache (every package fetched), a warm
one (every answer fresh in the cache: no request) and a revalidating one (the cache's lifetime over: one
conditional request per package, answered 304).

    python bench/deps.py [--packages 500] [--versions 30] [--ecosystem npm|pypi] [--concurrency 16]

The fake registry (tests/dependencies/deps_registry_server.py) serves npm documents and PyPI JSON from memory in
a thread of this process, so the figures include its own work on the same cores. Goal (issue 6): a warm scan
under 1 s.
"""

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "dependencies"))
sys.path.insert(0, str(ROOT / "src"))

from deps_registry_server import Registry, start  # noqa: E402

from keepwell.dependencies import versions  # noqa: E402
from keepwell.dependencies.scan import Options, scan  # noqa: E402


def build(packages: int, versions: int, ecosystem: str, root: Path) -> Registry:
    reg = Registry()
    names = [f"pkg-{i:04d}" for i in range(packages)]
    for n, name in enumerate(names):
        for v in range(versions):
            version = f"{v // 10}.{v % 10}.0"
            if ecosystem == "npm":
                reg.add_npm(name, version, v * 30)
            else:
                reg.add_pypi(name, version, v * 30, files=n < 1)  # one real wheel is enough for the JSON API
                if n >= 1:
                    # Without a built file the JSON API would list no release: give each a file entry.
                    reg.files[f"/files/{name.replace('-', '_')}-{version}-py3-none-any.whl"] = b"x"
    if ecosystem == "npm":
        lock = {
            "name": "bench",
            "version": "1.0.0",
            "lockfileVersion": 3,
            "requires": True,
            "packages": {
                "": {"name": "bench", "version": "1.0.0", "dependencies": {n: "^0.1.0" for n in names}},
                **{f"node_modules/{n}": {"version": "0.1.0"} for n in names},
            },
        }
        (root / "package.json").write_text(
            json.dumps({"name": "bench", "version": "1.0.0", "dependencies": {n: "^0.1.0" for n in names}})
        )
        (root / "package-lock.json").write_text(json.dumps(lock))
    else:
        (root / "requirements.txt").write_text("".join(f"{n}==0.1.0\n" for n in names))
    return reg


def timed(root: Path, options: Options):
    versions.clear_caches()  # each scan starts like a fresh process: nothing parsed yet
    started = time.perf_counter()
    report = scan(root, options, now=datetime(2030, 1, 1, tzinfo=UTC))
    return time.perf_counter() - started, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=500)
    parser.add_argument("--versions", type=int, default=30)
    parser.add_argument("--ecosystem", choices=("npm", "pypi"), default="npm")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="keepwell-bench-deps-") as tmp:
        tmp = Path(tmp)
        repo = tmp / "repo"
        repo.mkdir()
        registry, stop = start(build(args.packages, args.versions, args.ecosystem, repo))
        try:
            options = Options(
                pypi_url=registry.url,
                npm_url=registry.url + "/npm",
                eol_url="",
                cache_dir=tmp / "cache",
                concurrency=args.concurrency,
            )
            rows = []
            for label, ttl in (("cold cache", 3600), ("warm cache", 3600), ("revalidate (304)", 0)):
                options.ttl = ttl
                seconds, report = timed(repo, options)
                looked_up = sum(1 for d in report.dependencies if d.latest)
                rows.append((label, seconds, report.requests, looked_up, len(report.dependencies)))
        finally:
            stop()
    print(f"keepwell deps scan: {args.packages} {args.ecosystem} dependencies, {args.versions} versions each")
    for label, seconds, requests, looked_up, total in rows:
        print(f"  {label:18} {seconds:7.3f} s  {requests:5d} requests  {looked_up}/{total} resolved")
    warm = rows[1][1]
    print(f"  goal: warm scan under 1 s: {'met' if warm < 1 else 'NOT met'} ({warm:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
