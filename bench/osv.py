"""Benchmark the OSV vulnerability database: build time and peak memory for the real PyPI export and for a
synthetic 250,000-record export, then the scan time of a 1,000-package lockfile once the database is built
(goal: under 1 s). Renovate's offline loader takes 16 s and a 1.26 GB heap for the PyPI and npm exports.

    python bench/osv.py [--pypi PATH] [--records 250000] [--packages 1000] [--synthetic PATH] [--synthetic-only]

Each build runs in a child process so that its peak resident memory (ru_maxrss, the whole Python process
included) is its own. Everything happens in a temporary folder; nothing is contacted.
"""

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

DEFAULT_PYPI = Path(__file__).resolve().parents[2] / "shared" / "data" / "osv" / "PyPI-all.zip"
LOREM = (
    "A crafted request can make the parser allocate without bound, exhausting memory; applications that pass "
    "untrusted input to the affected function are vulnerable. Upgrade to a fixed version. "
)


def child_build(source: str, index: str) -> None:
    from keepwell.security.osv import build

    started, cpu = time.perf_counter(), time.process_time()
    stats = build([source], index)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu": cpu,
                "peak_mb": peak_mb,
                "advisories": stats.advisories,
                "records": stats.records,
                "workers": stats.parallel,
                "workers_cpu": workers.ru_utime + workers.ru_stime,
                "workers_peak_mb": workers.ru_maxrss / 1024,
            }
        )
    )


def measure_build(source: Path, index: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child-build", str(source), str(index)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def synthetic_export(path: Path, count: int, seed: int = 7) -> int:
    """Write an npm-like export: GHSA records with ranges, CVSS vectors and aliases, and many MAL- records."""
    rng = random.Random(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for i in range(count):
            name = f"pkg-{rng.randrange(count // 3)}"
            if i % 3 == 0:  # malicious packages are most of npm's export
                record = {
                    "id": f"MAL-2026-{i}",
                    "modified": "2026-01-01T00:00:00Z",
                    "summary": f"Malicious code in {name} (npm)",
                    "details": "The package runs a credential stealer on install. " * 3,
                    "affected": [
                        {
                            "package": {"ecosystem": "npm", "name": name},
                            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
                        }
                    ],
                    "references": [{"type": "WEB", "url": f"https://example.com/mal/{i}"}],
                }
            else:
                major = rng.randrange(1, 9)
                record = {
                    "schema_version": "1.6.0",
                    "id": f"GHSA-{i:04x}-syn{i % 10}-abcd",
                    "modified": "2026-01-01T00:00:00Z",
                    "published": "2025-06-01T00:00:00Z",
                    "aliases": [f"CVE-2025-{i}"],
                    "summary": f"Denial of service in {name}",
                    "details": LOREM * 3,
                    "severity": [
                        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}
                    ],
                    "affected": [
                        {
                            "package": {"ecosystem": "npm", "name": name, "purl": f"pkg:npm/{name}"},
                            "ranges": [
                                {
                                    "type": "ECOSYSTEM",
                                    "events": [
                                        {"introduced": "0"},
                                        {"fixed": f"{major}.{rng.randrange(20)}.{rng.randrange(20)}"},
                                    ],
                                },
                                {
                                    "type": "ECOSYSTEM",
                                    "events": [
                                        {"introduced": f"{major + 1}.0.0-beta.1"},
                                        {"fixed": f"{major + 1}.0.{rng.randrange(9)}"},
                                    ],
                                },
                            ],
                            "database_specific": {"source": "https://github.com/advisories"},
                        }
                    ],
                    "references": [
                        {"type": "ADVISORY", "url": f"https://nvd.nist.gov/vuln/detail/CVE-2025-{i}"}
                    ]
                    * 4,
                    "database_specific": {
                        "severity": "HIGH",
                        "cwe_ids": ["CWE-400"],
                        "github_reviewed": True,
                    },
                }
            z.writestr(f"{record['id']}.json", json.dumps(record, indent=2))
    return path.stat().st_size


def requirements_file(path: Path, db, count: int) -> None:
    """Write a pinned requirements file of `count` packages: every package the index knows, then others."""
    names = [
        row[0]
        for row in db.conn.execute(
            "SELECT DISTINCT name FROM affected WHERE ecosystem = 'PyPI' ORDER BY name"
        )
    ]
    names = (names + [f"not-vulnerable-{i}" for i in range(count)])[:count]
    path.write_text("".join(f"{name}==1.0.0\n" for name in names))


def npm_lock(folder: Path, db, count: int) -> None:
    names = [
        row[0]
        for row in db.conn.execute(
            "SELECT DISTINCT name FROM affected WHERE ecosystem = 'npm' LIMIT ?", (count,)
        )
    ]
    packages = {"": {"name": "bench", "version": "1.0.0", "dependencies": {n: "*" for n in names}}}
    packages.update({f"node_modules/{n}": {"version": "1.0.0"} for n in names})
    (folder / "package.json").write_text(
        json.dumps({"name": "bench", "dependencies": {n: "*" for n in names}})
    )
    (folder / "package-lock.json").write_text(
        json.dumps({"name": "bench", "lockfileVersion": 3, "packages": packages})
    )


def time_scan(folder: Path, index: Path, repeat: int = 5) -> tuple[float, float, int, int]:
    from keepwell.security.osv import Database
    from keepwell.security.scan import scan

    best, best_cpu, report = float("inf"), float("inf"), None
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        db = Database.open(index)
        report = scan(folder, db)
        db.close()
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best, best_cpu, report.checked, len(report.found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pypi", default=str(DEFAULT_PYPI), help="the PyPI OSV export (all.zip)")
    parser.add_argument("--records", type=int, default=250_000, help="records in the synthetic export")
    parser.add_argument("--packages", type=int, default=1000, help="packages in the scanned lockfile")
    parser.add_argument(
        "--synthetic",
        metavar="PATH",
        help="keep the synthetic export at PATH, and reuse it when it exists (it is not regenerated)",
    )
    parser.add_argument("--synthetic-only", action="store_true", help="skip the PyPI export")
    parser.add_argument("--child-build", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_build:
        child_build(*args.child_build)
        return

    from keepwell.security.osv import Database

    tmp = Path(tempfile.mkdtemp(prefix="keepwell-bench-osv-"))
    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (figures vary with the machine's load)"
    )
    pypi = Path(args.pypi)
    if args.synthetic_only:
        pass
    elif pypi.exists():
        result = measure_build(pypi, tmp / "pypi.sqlite3")
        print(
            f"PyPI export ({pypi.stat().st_size / 2**20:.1f} MiB, {result['records']} records): built in "
            f"{result['seconds']:.2f} s ({result['cpu']:.2f} s of CPU), peak memory {result['peak_mb']:.0f} MiB, index "
            f"{(tmp / 'pypi.sqlite3').stat().st_size / 2**20:.1f} MiB"
        )
        project = tmp / "py"
        project.mkdir()
        db = Database.open(tmp / "pypi.sqlite3")
        requirements_file(project / "requirements.txt", db, args.packages)
        db.close()
        seconds, cpu, checked, found = time_scan(project, tmp / "pypi.sqlite3")
        print(
            f"scan of a {checked}-package requirements file: {seconds * 1000:.0f} ms ({cpu * 1000:.0f} ms of CPU, "
            f"{found} vulnerabilities)"
        )
    else:
        print(f"PyPI export not found at {pypi}: skipped (give --pypi)")

    synthetic = Path(args.synthetic) if args.synthetic else tmp / "synthetic.zip"
    if synthetic.exists():
        print(f"synthetic export: reusing {synthetic} ({synthetic.stat().st_size / 2**20:.0f} MiB zipped)")
    else:
        started = time.perf_counter()
        size = synthetic_export(synthetic, args.records)
        print(
            f"synthetic export: {args.records} records, {size / 2**20:.0f} MiB zipped (written in {time.perf_counter() - started:.0f} s)"
        )
    result = measure_build(synthetic, tmp / "synthetic.sqlite3")
    print(
        f"synthetic export: built in {result['seconds']:.2f} s ({result['cpu']:.2f} s of CPU), peak memory {result['peak_mb']:.0f} MiB, "
        f"{result['advisories']} advisories, index {(tmp / 'synthetic.sqlite3').stat().st_size / 2**20:.0f} MiB"
    )
    if result["workers"]:
        print(
            f"  read by {result['workers']} worker processes: {result['workers_cpu']:.2f} s of CPU, "
            f"peak memory {result['workers_peak_mb']:.0f} MiB each"
        )
    project = tmp / "npm"
    project.mkdir()
    db = Database.open(tmp / "synthetic.sqlite3")
    npm_lock(project, db, args.packages)
    db.close()
    seconds, cpu, checked, found = time_scan(project, tmp / "synthetic.sqlite3")
    print(
        f"scan of a {checked}-package package-lock.json: {seconds * 1000:.0f} ms ({cpu * 1000:.0f} ms of CPU, "
        f"{found} vulnerabilities)"
    )
    for p in sorted(tmp.rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    tmp.rmdir()


if __name__ == "__main__":
    main()
