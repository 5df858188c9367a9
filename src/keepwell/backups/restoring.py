"""Restore a backup run: files to a path, and database dumps streamed from restic into a database."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable

from keepwell.backups import restic as restic_module
from keepwell.backups.restic import BackupError, Drain, RepoSpec
from keepwell.backups.sources import (
    MySQLDefaults,
    describe,
    mysql_tool,
    parse_mysql_url,
    parse_postgres_url,
    postgres_env,
    stdin_filename,
    validate_sources,
)

TARGET_KINDS = ("path", "sqlite", "postgres", "mysql")
POLL_SECONDS = 0.5

Progress = Callable[[float | None, str], None]


def validate_target(target) -> dict:
    """Return the restore target normalized; raise ValueError naming the field."""
    if not isinstance(target, dict) or target.get("kind") not in TARGET_KINDS:
        raise ValueError(f"target.kind must be one of {', '.join(TARGET_KINDS)}.")
    kind = target["kind"]
    clean = {"kind": kind}
    if "source" in target:
        if (
            not isinstance(target["source"], int)
            or isinstance(target["source"], bool)
            or target["source"] < 0
        ):
            raise ValueError("target.source must be the index of a source in the plan (0, 1, ...).")
        clean["source"] = target["source"]
    if kind in ("path", "sqlite"):
        path = target.get("path")
        if not isinstance(path, str) or not path.startswith("/") or "\x00" in path:
            raise ValueError("target.path must be an absolute path.")
        clean["path"] = os.path.normpath(path)
        clean["overwrite"] = bool(target.get("overwrite", False))
    else:
        url = target.get("url")
        if not isinstance(url, str):
            raise ValueError("target.url must be a database URL.")
        (parse_postgres_url if kind == "postgres" else parse_mysql_url)(url, "target.url")
        clean["url"] = url
    return clean


_SNAPSHOT_ID = re.compile(r"^[0-9a-f]{8,64}$")


def snapshot_for(snapshots: list[dict], index: int) -> str:
    """Return the snapshot id that holds source `index`."""
    for snapshot in snapshots or []:
        if isinstance(snapshot, dict) and snapshot.get("source") == index and snapshot.get("id"):
            snapshot_id = str(snapshot["id"])
            if not _SNAPSHOT_ID.match(snapshot_id):
                raise BackupError("failed", f"{snapshot_id[:80]!r} is not a restic snapshot id.")
            return snapshot_id
    raise BackupError("failed", f"The backup run has no snapshot for source {index}; run a new backup.")


def restic_dump_process(spec: RepoSpec, snapshot: str, name: str) -> subprocess.Popen:
    """Start `restic dump SNAPSHOT FILE` with its stdout as a pipe."""
    argv = restic_module.command(spec, "dump", snapshot, "/" + name.lstrip("/"))
    try:
        return subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=restic_module.environment(spec)
        )
    except FileNotFoundError:
        raise BackupError("missing-restic", f"restic was not found at {spec.restic!r}. Install restic.")


def pipe_dump(
    spec: RepoSpec, snapshot: str, name: str, loader_argv: list[str], loader_env: dict, what: str
) -> None:
    """Stream a dump out of restic into a loader process (pg_restore, mysql); check both exit codes."""
    info = restic_module.restic_info(spec.restic)
    dump = restic_dump_process(spec, snapshot, name)
    dump_errors = Drain(dump.stderr)
    dump_errors.start()
    try:
        loader = subprocess.Popen(
            loader_argv,
            stdin=dump.stdout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, **loader_env},
        )
    except FileNotFoundError:
        dump.kill()
        dump.wait()
        raise BackupError("failed", f"{loader_argv[0]} is not installed; install the database client tools.")
    finally:
        dump.stdout.close()
    loader_errors = Drain(loader.stderr)
    loader_errors.start()
    loader_code = loader.wait()
    dump_code = dump.wait()
    if dump_code != 0:
        raise restic_module.classify(dump_errors.text(), dump_code, info=info, location=spec.location)
    if loader_code != 0:
        raise BackupError(
            "failed",
            f"Loading the dump into {what} failed ({os.path.basename(loader_argv[0])} exit {loader_code}): "
            f"{loader_errors.text()[-800:] or 'no error output'}. Restore into an empty database.",
        )


def run_watched(
    spec: RepoSpec,
    args: list[str],
    *,
    stdout=subprocess.DEVNULL,
    measure: Callable[[], int] | None = None,
    expected: int = 0,
    say: Progress | None = None,
    label: str = "",
) -> None:
    """Run restic to completion, reporting measure()/expected as progress (restic 0.14 restore has none)."""
    info = restic_module.restic_info(spec.restic)
    argv = restic_module.command(spec, *args)
    try:
        process = subprocess.Popen(
            argv, stdout=stdout, stderr=subprocess.PIPE, env=restic_module.environment(spec)
        )
    except FileNotFoundError:
        raise BackupError("missing-restic", f"restic was not found at {spec.restic!r}. Install restic.")
    errors = Drain(process.stderr)
    errors.start()
    while True:
        try:
            code = process.wait(timeout=POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            if say is not None and measure is not None and expected > 0:
                done = max(measure(), 0)
                say(
                    min(done / expected, 0.99),
                    f"{label}: {restic_module.human_bytes(done)} of {restic_module.human_bytes(expected)}",
                )
        except BaseException:
            process.kill()
            process.wait()
            raise
    if code != 0:
        raise restic_module.classify(errors.text(), code, info=info, location=spec.location)


def _used_bytes(path: str) -> int:
    stat = os.statvfs(path)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize


def dump_to_file(
    spec: RepoSpec, snapshot: str, name: str, path: str, *, expected: int = 0, say: Progress | None = None
) -> None:
    """Write one file of a snapshot to `path` with restic dump."""
    with open(path, "wb") as handle:
        run_watched(
            spec,
            ["dump", snapshot, "/" + name.lstrip("/")],
            stdout=handle,
            measure=lambda: os.path.getsize(path),
            expected=expected,
            say=say,
            label=f"restoring {os.path.basename(name)}",
        )


def restore_tree(
    spec: RepoSpec, snapshot: str, directory: str, *, expected: int = 0, say: Progress | None = None
) -> None:
    """Restore a whole snapshot under `directory` with restic restore; raise when any file failed."""
    os.makedirs(directory, exist_ok=True)
    # Progress is the growth of the target's file system: cheap, whatever the number of files.
    base = _used_bytes(directory)
    run_watched(
        spec,
        ["restore", snapshot, "--target", directory],
        measure=lambda: _used_bytes(directory) - base,
        expected=expected,
        say=say,
        label=f"restoring snapshot {snapshot[:8]}",
    )


def restore_size(spec: RepoSpec, snapshot: str) -> int:
    """Return the number of bytes a snapshot restores to (restic stats), or 0 when restic cannot say."""
    try:
        stats = restic_module.run_json(spec, "stats", "--mode", "restore-size", snapshot) or {}
    except BackupError:
        return 0
    return int(stats.get("total_size") or 0) if isinstance(stats, dict) else 0


def load_postgres(spec: RepoSpec, snapshot: str, name: str, url: str) -> None:
    """Stream a pg_dump custom-format archive from restic into pg_restore for the database at `url`."""
    db = parse_postgres_url(url)
    argv = [
        shutil.which("pg_restore") or "pg_restore",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--no-password",
        f"--dbname={db.database}",
    ]
    pipe_dump(spec, snapshot, name, argv, postgres_env(db), f"PostgreSQL {db.redacted()}")


def load_mysql(spec: RepoSpec, snapshot: str, name: str, url: str) -> None:
    """Stream a mysqldump file from restic into the mysql client for the database at `url`."""
    db = parse_mysql_url(url)
    with MySQLDefaults(db) as defaults:
        argv = [mysql_tool("mariadb", "mysql"), f"--defaults-extra-file={defaults}", "--batch", db.database]
        pipe_dump(spec, snapshot, name, argv, {}, f"MySQL {db.redacted()}")


def restore(spec: RepoSpec, snapshots: list[dict], sources: list[dict], target: dict, *, progress=None):
    """Restore the run's snapshots to the target; return a RestoreResult."""
    from keepwell.backups.engine import RestoreResult

    sources = validate_sources(sources)
    target = validate_target(target)
    started = time.monotonic()
    say = progress or (lambda fraction, message: None)
    kind = target["kind"]
    restored: list[dict] = []
    if kind == "path":
        root = target["path"]
        if os.path.exists(root) and os.listdir(root) and not target["overwrite"]:
            raise BackupError(
                "failed", f"{root} is not empty. Restore into an empty directory, or allow overwriting."
            )
        chosen = [target["source"]] if "source" in target else list(range(len(sources)))
        for step, index in enumerate(chosen):
            _check_index(index, sources)
            where = root if len(chosen) == 1 else os.path.join(root, f"source-{index}")
            say(step / len(chosen), f"restoring {describe(sources[index])} to {where}")
            snapshot = snapshot_for(snapshots, index)
            expected = restore_size(spec, snapshot) if progress is not None else 0
            restore_tree(spec, snapshot, where, expected=expected, say=_scaled(say, step, len(chosen)))
            restored.append({"source": index, "path": where})
        say(1.0, f"restored {len(restored)} snapshot(s) to {root}")
        return RestoreResult(target=target, duration=time.monotonic() - started, restored=restored)

    index = _pick_source(sources, target)
    source = sources[index]
    snapshot = snapshot_for(snapshots, index)
    name = stdin_filename(source)
    say(0.0, f"restoring {describe(source)}")
    if kind == "sqlite":
        path = target["path"]
        if os.path.exists(path) and not target["overwrite"]:
            raise BackupError("failed", f"{path} exists. Restore to a new file, or allow overwriting.")
        partial = f"{path}.keepwell-partial"
        try:
            expected = restore_size(spec, snapshot) if progress is not None else 0
            dump_to_file(spec, snapshot, name, partial, expected=expected, say=say)
            os.replace(partial, path)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        restored.append({"source": index, "path": path})
    elif kind == "postgres":
        load_postgres(spec, snapshot, name, target["url"])
        restored.append({"source": index, "database": parse_postgres_url(target["url"]).redacted()})
    else:
        load_mysql(spec, snapshot, name, target["url"])
        restored.append({"source": index, "database": parse_mysql_url(target["url"]).redacted()})
    say(1.0, f"restored {describe(source)}")
    return RestoreResult(target=target, duration=time.monotonic() - started, restored=restored)


def _scaled(say: Progress, step: int, steps: int) -> Progress:
    def report(fraction: float | None, message: str) -> None:
        say(None if fraction is None else (step + fraction) / steps, message)

    return report


def _check_index(index: int, sources: list[dict]) -> None:
    if not 0 <= index < len(sources):
        raise BackupError(
            "failed", f"target.source {index} is not a source of this plan (it has {len(sources)})."
        )


def _pick_source(sources: list[dict], target: dict) -> int:
    kind = target["kind"]
    if "source" in target:
        _check_index(target["source"], sources)
        if sources[target["source"]]["kind"] != kind:
            raise BackupError(
                "failed",
                f"Source {target['source']} is a {sources[target['source']]['kind']} source; it cannot be "
                f"restored into a {kind} target.",
            )
        return target["source"]
    matching = [i for i, source in enumerate(sources) if source["kind"] == kind]
    if len(matching) != 1:
        raise BackupError(
            "failed",
            f"The plan has {len(matching)} {kind} sources; say which one to restore with target.source.",
        )
    return matching[0]
