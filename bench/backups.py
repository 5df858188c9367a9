"""Benchmark the backups engine against bare restic: backup overhead, restore throughput, drill duration.

Prints, for the same tree of files:
- the wall time of a bare `restic backup` and of keepwell's `run_backup` (which adds the snapshot listing,
  the manifest and the sample checksums), and keepwell's overhead in percent (goal, issue 5: at most 5%);
- restic's own throughput (bytes processed / restic's own duration, from its JSON summary);
- the wall time of a bare `restic restore` and of keepwell's `restore` to a path;
- a restore drill of that tree plus a SQLite database: the measured restore time and the whole drill
  (goal: under 60 s for 1 GiB of files and a 200 MB SQLite database).

    python bench/backups.py [--files-mb 1024] [--sqlite-mb 200] [--rounds 2] [--workdir DIR] [--backup-only]

Needs restic on PATH. The data is random (incompressible, no duplicates), written into a temporary directory
that is removed afterwards. Each backup goes into a fresh repository, so every round does the full work.
"""

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from keepwell.backups import engine  # noqa: E402
from keepwell.backups import restic as restic_module  # noqa: E402

PASSWORD = "bench password"
MiB = 1 << 20


def make_tree(root: Path, total_mb: int) -> int:
    """Write a tree of random files: many small ones and a few large; return the bytes written."""
    written = 0
    budget = total_mb * MiB
    small = min(budget // 4, 4000 * 16 * 1024)
    for i in range(small // (16 * 1024)):
        directory = root / f"dir-{i % 40:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"small-{i}.bin").write_bytes(os.urandom(16 * 1024))
        written += 16 * 1024
    large = root / "large"
    large.mkdir(parents=True, exist_ok=True)
    index = 0
    while written < budget:
        size = min(64 * MiB, budget - written)
        with open(large / f"large-{index}.bin", "wb") as handle:
            for _ in range(0, size, MiB):
                handle.write(os.urandom(min(MiB, size)))
        written += size
        index += 1
    return written


def make_sqlite(path: Path, total_mb: int) -> int:
    """Write a SQLite database of about `total_mb` MiB of rows; return its size."""
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE event (id INTEGER PRIMARY KEY, kind TEXT, payload BLOB)")
    rows = total_mb * MiB // 4096
    batch = 2000
    for start in range(0, rows, batch):
        connection.executemany(
            "INSERT INTO event(kind, payload) VALUES (?, ?)",
            [(f"kind-{i % 17}", os.urandom(4000)) for i in range(start, min(start + batch, rows))],
        )
    connection.commit()
    connection.close()
    return path.stat().st_size


def fresh_repo(workdir: Path, name: str) -> engine.RepoSpec:
    spec = engine.RepoSpec(location=str(workdir / name), password=PASSWORD)
    engine.init_repository(spec)
    return spec


def bare_backup(spec: engine.RepoSpec, tree: Path) -> tuple[float, dict]:
    """Run restic backup the way keepwell does (same flags), without keepwell; return (wall, summary)."""
    argv = restic_module.command(spec, "backup", "--json", "--", str(tree))
    started = time.perf_counter()
    done = subprocess.run(argv, env=restic_module.environment(spec), capture_output=True, check=True)
    wall = time.perf_counter() - started
    summary = next(
        json.loads(line)
        for line in done.stdout.decode().splitlines()
        if line.startswith("{") and '"summary"' in line
    )
    return wall, summary


def bare_restore(spec: engine.RepoSpec, target: Path) -> float:
    argv = restic_module.command(spec, "restore", "latest", "--target", str(target))
    started = time.perf_counter()
    subprocess.run(argv, env=restic_module.environment(spec), capture_output=True, check=True)
    return time.perf_counter() - started


def rate(size: int, seconds: float) -> str:
    return f"{size / MiB / seconds:8.1f} MiB/s" if seconds > 0 else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files-mb", type=int, default=1024, help="size of the file tree (MiB)")
    parser.add_argument("--sqlite-mb", type=int, default=200, help="size of the SQLite database (MiB)")
    parser.add_argument("--rounds", type=int, default=2, help="backups of each kind; the fastest counts")
    parser.add_argument("--workdir", default=None, help="where to write the data (default: a temp dir)")
    parser.add_argument("--backup-only", action="store_true", help="measure the backup overhead only")
    args = parser.parse_args()

    info = engine.restic_info()
    workdir = Path(tempfile.mkdtemp(prefix="keepwell-bench-", dir=args.workdir))
    try:
        print(f"restic {info.version}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
        print(
            f"writing {args.files_mb} MiB of files and a {args.sqlite_mb} MiB SQLite database into {workdir}"
        )
        tree = workdir / "tree"
        size = make_tree(tree, args.files_mb)
        db_size = make_sqlite(workdir / "app.sqlite3", args.sqlite_mb)
        sources = [{"kind": "path", "paths": [str(tree)]}]

        bare_times, keepwell_times, throughputs, keepwell_cpu = [], [], [], []
        for round_ in range(args.rounds):
            # Alternate the order so the page cache and the machine's load favour neither.
            order = ("bare", "keepwell") if round_ % 2 == 0 else ("keepwell", "bare")
            for kind in order:
                spec = fresh_repo(workdir, f"repo-{kind}-{round_}")
                if kind == "bare":
                    wall, summary = bare_backup(spec, tree)
                    bare_times.append(wall)
                    throughputs.append(summary["total_bytes_processed"] / summary["total_duration"])
                else:
                    cpu = resource.getrusage(resource.RUSAGE_SELF)
                    started = time.perf_counter()
                    engine.run_backup(spec, sources, tags=["bench"])
                    keepwell_times.append(time.perf_counter() - started)
                    after = resource.getrusage(resource.RUSAGE_SELF)
                    keepwell_cpu.append(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime)
                if round_ < args.rounds - 1:
                    shutil.rmtree(spec.location)
        bare, ours = min(bare_times), min(keepwell_times)
        overhead = (ours - bare) / bare * 100
        print()
        print(
            f"backup of {size / MiB:.0f} MiB in {sum(1 for _ in tree.rglob('*') if _.is_file())} files "
            f"(fastest of {args.rounds}):"
        )
        print(f"  bare restic backup   {bare:7.2f} s  {rate(size, bare)}")
        print(f"  keepwell run_backup  {ours:7.2f} s  {rate(size, ours)}")
        print(f"  keepwell overhead    {overhead:+7.1f} %   (goal: at most 5 %)")
        print(f"  restic's own throughput (its summary): {max(throughputs) / MiB:.1f} MiB/s")
        print(
            f"  keepwell's own CPU time during run_backup: {min(keepwell_cpu):.2f} s "
            "(its work beside restic, independent of the machine's load)"
        )

        if args.backup_only:
            return 0
        spec = engine.RepoSpec(location=str(workdir / f"repo-keepwell-{args.rounds - 1}"), password=PASSWORD)
        target = workdir / "restore-bare"
        bare_restore_time = bare_restore(spec, target)
        shutil.rmtree(target)
        snapshots = engine.list_snapshots(spec)
        started = time.perf_counter()
        engine.restore(
            spec,
            [{"source": 0, "id": snapshots[-1]["id"]}],
            sources,
            {"kind": "path", "path": str(workdir / "r")},
        )
        ours_restore = time.perf_counter() - started
        shutil.rmtree(workdir / "r")
        print()
        print("restore to a path:")
        print(f"  bare restic restore  {bare_restore_time:7.2f} s  {rate(size, bare_restore_time)}")
        print(f"  keepwell restore     {ours_restore:7.2f} s  {rate(size, ours_restore)}")

        spec = fresh_repo(workdir, "repo-drill")
        drill_sources = sources + [{"kind": "sqlite", "path": str(workdir / "app.sqlite3")}]
        result = engine.run_backup(spec, drill_sources, tags=["bench"])
        started = time.perf_counter()
        drill = engine.drill(spec, result.snapshots, drill_sources, result.manifest)
        whole = time.perf_counter() - started
        print()
        print(
            f"restore drill of {size / MiB:.0f} MiB of files and a {db_size / MiB:.0f} MiB SQLite database:"
        )
        print(f"  passed               {drill.ok}")
        print(f"  measured restore     {drill.duration:7.2f} s  {rate(size + db_size, drill.duration)}")
        print(f"  whole drill          {whole:7.2f} s   (goal: under 60 s)")
        if not drill.ok:
            print(f"  error: {drill.error}")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        return 0 if drill.ok else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
