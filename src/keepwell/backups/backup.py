"""Run a backup: each source into its own restic snapshot, with a manifest of what went in."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime

from keepwell.backups import manifest as manifests
from keepwell.backups import restic as restic_module
from keepwell.backups.restic import BackupError, Drain, RepoSpec
from keepwell.backups.sources import (
    MySQLDefaults,
    describe,
    mysql_tool,
    parse_mysql_url,
    parse_postgres_url,
    postgres_env,
    sqlite_copy,
    stdin_filename,
    validate_sources,
)

MANIFEST_VERSION = 1


class _Reporter:
    """Turn restic status messages into calls of the caller's progress function, scaled to the whole run."""

    def __init__(self, progress, count: int):
        self.progress = progress
        self.count = max(count, 1)
        self.index = 0
        self.label = ""
        self.last = 0.0

    def start(self, index: int, label: str) -> None:
        self.index = index
        self.label = label
        self.say(index / self.count, f"{label}: starting")

    def say(self, fraction: float | None, message: str) -> None:
        if self.progress is not None:
            self.progress(fraction, message)

    def status(self, message: dict) -> None:
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        fraction, text = restic_module.describe_status(message)
        if fraction is not None and message.get("total_bytes"):
            overall = (self.index + fraction) / self.count
        else:
            overall = None
            text = f"{restic_module.human_bytes(message.get('bytes_done') or 0)} read"
        self.say(overall, f"{self.label}: {text}")


def run_backup(spec: RepoSpec, sources: list[dict], *, tags: list[str], progress=None):
    """Back up every source into its own snapshot; return a BackupResult with the manifest."""
    from keepwell.backups.engine import BackupResult

    sources = validate_sources(sources)
    tags = restic_module.validate_tags(tags)
    info = restic_module.restic_info(spec.restic)
    started = time.monotonic()
    started_at = datetime.now(UTC)
    reporter = _Reporter(progress, len(sources))
    entries: list[dict] = []
    tools: set[str] = set()
    for index, source in enumerate(sources):
        reporter.start(index, describe(source))
        began = time.monotonic()
        kind = source["kind"]
        if kind == "path":
            entry = _backup_paths(spec, source, tags, reporter)
        elif kind == "sqlite":
            entry = _backup_sqlite(spec, source, tags, reporter)
        elif kind == "postgres":
            entry = _backup_postgres(spec, source, tags, reporter)
            tools.add("pg_dump")
        else:
            entry = _backup_mysql(spec, source, tags, reporter)
            tools.add(os.path.basename(mysql_tool("mariadb-dump", "mysqldump")))
        entry.update({"source": index, "kind": kind, "what": describe(source)})
        entry["duration"] = round(time.monotonic() - began, 3)
        entries.append(entry)
    snapshots = _resolve_ids(spec, entries, tags)
    duration = time.monotonic() - started
    reporter.say(1.0, f"done: {len(entries)} snapshot(s) in {duration:.1f} s")
    manifest = {
        "version": MANIFEST_VERSION,
        "started": started_at.isoformat(),
        "duration": round(duration, 3),
        "host": socket.gethostname(),
        "tools": manifests.tool_versions(info, *sorted(tools)),
        "sources": entries,
    }
    return BackupResult(
        snapshots=snapshots,
        manifest=manifest,
        duration=duration,
        bytes_added=sum(entry.get("bytes_added", 0) for entry in entries),
        total_bytes=sum(entry.get("bytes_processed", 0) for entry in entries),
    )


def _resolve_ids(spec: RepoSpec, entries: list[dict], tags: list[str]) -> list[dict]:
    # restic's summary gives the short id; the run records the full one.
    full = restic_module.full_snapshot_ids(spec, [entry["short_id"] for entry in entries], tags=tags)
    snapshots = []
    for entry in entries:
        short = entry.pop("short_id")
        entry["snapshot"] = full.get(short, short)
        snapshots.append({"source": entry["source"], "id": entry["snapshot"], "short_id": short})
    return snapshots


def _tag_args(tags: list[str]) -> list[str]:
    args: list[str] = []
    for tag in tags:
        args += ["--tag", tag]
    return args


def _finish(spec: RepoSpec, summary: dict | None, code: int, stderr: str, info) -> dict:
    if code not in (0, 3) or summary is None:
        raise restic_module.classify(stderr, code or 1, info=info, location=spec.location)
    if not summary.get("snapshot_id"):
        raise BackupError("failed", f"restic finished without naming the snapshot it made: {stderr[-300:]}")
    entry = {
        "short_id": str(summary.get("snapshot_id", "")),
        "bytes_added": int(summary.get("data_added") or 0),
        "bytes_processed": int(summary.get("total_bytes_processed") or 0),
    }
    if code == 3:
        # restic made the snapshot but could not read some files: keep it, and say so.
        entry["incomplete"] = True
        entry["warnings"] = [line for line in stderr.splitlines() if line.strip()][:50]
    return entry


def _backup_paths(spec: RepoSpec, source: dict, tags: list[str], reporter: _Reporter) -> dict:
    missing = [path for path in source["paths"] if not os.path.lexists(path)]
    if missing:
        raise BackupError(
            "source",
            f"The path {missing[0]} does not exist on this machine, so it cannot be backed up. Correct the "
            "plan's paths or create it.",
        )
    info = restic_module.restic_info(spec.restic)
    args = ["-vv", *_tag_args(tags)]  # -vv: restic names each file it stores, which feeds the sample
    for pattern in source.get("exclude", []):
        args += ["--exclude", pattern]
    sampler = manifests.FileSampler(time.time_ns())
    summary, code, stderr = restic_module.backup_stream(
        spec, [*args, "--", *source["paths"]], on_status=reporter.status, on_item=sampler.item
    )
    entry = _finish(spec, summary, code, stderr, info)
    reporter.say(None, f"{reporter.label}: checksumming a sample of the files for drills")
    entry.update(
        {
            "files": int(summary.get("total_files_processed") or 0),
            "dirs": sum(
                int(summary.get(key) or 0) for key in ("dirs_new", "dirs_changed", "dirs_unmodified")
            ),
            "bytes": int(summary.get("total_bytes_processed") or 0),
            "samples": sampler.samples(),
        }
    )
    return entry


def _backup_file_stdin(spec: RepoSpec, path: str, name: str, tags: list[str], reporter: _Reporter) -> dict:
    info = restic_module.restic_info(spec.restic)
    with open(path, "rb") as handle:
        summary, code, stderr = restic_module.backup_stream(
            spec,
            [*_tag_args(tags), "--stdin", "--stdin-filename", name],
            stdin=handle,
            on_status=reporter.status,
        )
    return _finish(spec, summary, code, stderr, info)


def _backup_sqlite(spec: RepoSpec, source: dict, tags: list[str], reporter: _Reporter) -> dict:
    workdir = tempfile.mkdtemp(prefix="keepwell-sqlite-")
    try:
        try:
            copy = sqlite_copy(source["path"], workdir)
        except (OSError, ValueError) as exc:
            raise BackupError("source", f"Could not read the SQLite database {source['path']}: {exc}.")
        except Exception as exc:  # sqlite3.Error and friends: a locked or damaged database
            raise BackupError(
                "source",
                f"Could not copy the SQLite database {source['path']} through the online backup API: {exc}. "
                "Check that the file is a SQLite database and readable by keepwell.",
            )
        inspected = manifests.sqlite_inspect(copy)
        name = stdin_filename(source)
        entry = _backup_file_stdin(spec, copy, name, tags, reporter)
        entry.update({"file": "/" + name, "bytes": os.path.getsize(copy), "files": 1, **inspected})
        return entry
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def stream_dump(
    spec: RepoSpec, dump_argv: list[str], dump_env: dict, name: str, tags: list[str], reporter, what: str
):
    """Pipe a dump tool's stdout straight into `restic backup --stdin`; check both exit codes."""
    info = restic_module.restic_info(spec.restic)
    env = {**os.environ, **dump_env}
    try:
        dump = subprocess.Popen(dump_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except FileNotFoundError:
        raise BackupError("source", f"{dump_argv[0]} is not installed; install the database client tools.")
    drain = Drain(dump.stderr)
    drain.start()
    try:
        summary, code, stderr = restic_module.backup_stream(
            spec,
            [*_tag_args(tags), "--stdin", "--stdin-filename", name],
            stdin=dump.stdout,
            on_status=reporter.status,
            close_stdin=True,
        )
    except BaseException:
        dump.kill()
        dump.wait()
        raise
    dump_code = dump.wait()
    dump_error = drain.text()
    if code not in (0, 3) or summary is None:
        raise restic_module.classify(stderr, code or 1, info=info, location=spec.location)
    if dump_code != 0:
        # restic stored whatever arrived before the dump failed: that snapshot must not look like a backup.
        short = str(summary.get("snapshot_id", ""))
        if short:
            try:
                restic_module.run(spec, "forget", short)
            except BackupError:
                pass
        raise BackupError(
            "source",
            f"{os.path.basename(dump_argv[0])} failed for {what} (exit {dump_code}): "
            f"{dump_error[-600:] or 'no error output'}. Check the database URL, the user's rights and that "
            "the server is up.",
        )
    return _finish(spec, summary, code, stderr, info)


def _backup_postgres(spec: RepoSpec, source: dict, tags: list[str], reporter: _Reporter) -> dict:
    db = parse_postgres_url(source["url"])
    what = db.redacted()
    try:
        connection = manifests.postgres_connect(db)
    except RuntimeError as exc:
        raise BackupError("source", str(exc))
    except Exception as exc:
        raise BackupError("source", f"Could not connect to PostgreSQL {what}: {str(exc).strip()}.")
    try:
        # One exported snapshot: the manifest's counts and pg_dump see the same moment of the database.
        connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = connection.execute("SELECT pg_export_snapshot()").fetchone()[0]
        inspected = manifests.postgres_inspect(connection)
        name = stdin_filename(source)
        argv = [
            shutil.which("pg_dump") or "pg_dump",
            "--format=custom",
            f"--snapshot={snapshot}",
            "--no-password",
        ]
        entry = stream_dump(spec, argv, postgres_env(db), name, tags, reporter, f"PostgreSQL {what}")
    finally:
        connection.close()
    entry.update(
        {"file": "/" + name, "bytes": entry["bytes_processed"], "files": 1, "format": "pg_dump custom"}
    )
    entry.update(inspected)
    return entry


def _backup_mysql(spec: RepoSpec, source: dict, tags: list[str], reporter: _Reporter) -> dict:
    db = parse_mysql_url(source["url"])
    what = db.redacted()
    try:
        tool = mysql_tool("mariadb-dump", "mysqldump")
    except FileNotFoundError:
        raise BackupError(
            "source", "mysqldump (or mariadb-dump) is not installed; install the MySQL client tools."
        )
    try:
        inspected = manifests.mysql_inspect(db)
    except (RuntimeError, FileNotFoundError, subprocess.TimeoutExpired) as exc:
        raise BackupError(
            "source", f"Could not read MySQL {what}: {exc}. Check the URL and the user's rights."
        )
    name = stdin_filename(source)
    with MySQLDefaults(db) as defaults:
        argv = [
            tool,
            f"--defaults-extra-file={defaults}",
            "--single-transaction",
            "--quick",
            "--routines",
            "--triggers",
            "--hex-blob",
            "--no-tablespaces",
            "--default-character-set=utf8mb4",
            "--",
            db.database,
        ]
        entry = stream_dump(spec, argv, {}, name, tags, reporter, f"MySQL {what}")
    entry.update({"file": "/" + name, "bytes": entry["bytes_processed"], "files": 1, "format": "SQL"})
    entry.update(inspected)
    return entry
