"""Restore drills: restore into a sandbox, verify against the manifest, record the evidence, clean up."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

from keepwell.backups import manifest as manifests
from keepwell.backups import restic as restic_module
from keepwell.backups import restoring
from keepwell.backups.restic import BackupError, RepoSpec
from keepwell.backups.sources import (
    MySQLDefaults,
    describe,
    parse_mysql_url,
    parse_postgres_url,
    stdin_filename,
    validate_sources,
)

VERIFY_TIMEOUT = 900  # seconds a user's verification command may run
OUTPUT_LIMIT = 2000  # characters of a command's output kept as evidence


class Evidence:
    """The list of checks a drill ran, each with its outcome and a plain detail."""

    def __init__(self):
        self.items: list[dict] = []

    def add(self, check: str, ok: bool, detail: str) -> bool:
        self.items.append({"check": check, "ok": bool(ok), "detail": detail})
        return ok

    @property
    def ok(self) -> bool:
        return bool(self.items) and all(item["ok"] for item in self.items)


def compare_database(evidence: Evidence, label: str, expected: dict, actual: dict) -> None:
    """Record whether the restored database's row counts and schema hash match the manifest."""
    want = expected.get("tables") or {}
    got = actual.get("tables") or {}
    differences = []
    for table in sorted(set(want) | set(got)):
        if want.get(table) != got.get(table):
            differences.append(
                f"{table}: {want.get(table, 'absent')} expected, {got.get(table, 'absent')} restored"
            )
    total = sum(v for v in got.values() if isinstance(v, int))
    if differences:
        evidence.add(
            f"{label}: row counts",
            False,
            f"{len(differences)} of {len(set(want) | set(got))} tables differ: "
            + "; ".join(differences[:10]),
        )
    else:
        evidence.add(f"{label}: row counts", True, f"{len(got)} tables, {total} rows, all as in the manifest")
    same = expected.get("schema_hash") == actual.get("schema_hash")
    evidence.add(
        f"{label}: schema hash",
        same,
        f"{actual.get('schema_hash')} matches the manifest"
        if same
        else f"restored {actual.get('schema_hash')}, manifest {expected.get('schema_hash')}",
    )


def verify_tree(evidence: Evidence, label: str, root: str, expected: dict, *, sample_files: int = 20) -> None:
    """Record whether the restored tree has the manifest's file count, size and sample checksums."""
    files = size = 0
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path):
                files += 1
                size += os.path.getsize(path)
    want_files, want_bytes = expected.get("files"), expected.get("bytes")
    evidence.add(
        f"{label}: files",
        files == want_files and size == want_bytes,
        f"{files} files, {restic_module.human_bytes(size)} restored; the manifest says {want_files} files, "
        f"{restic_module.human_bytes(want_bytes or 0)}",
    )
    samples = (expected.get("samples") or [])[: max(sample_files, 0)]
    if not samples:
        evidence.add(f"{label}: sample checksums", True, "no sample recorded (no regular files were stable)")
        return
    bad = []
    for sample in samples:
        path = os.path.join(root, sample["path"].lstrip("/"))
        try:
            digest = manifests.sha256_file(path)
        except OSError:
            bad.append(f"{sample['path']} missing")
            continue
        if digest != sample.get("sha256"):
            bad.append(f"{sample['path']} differs")
    evidence.add(
        f"{label}: sample checksums",
        not bad,
        f"{len(samples)} of {len(samples)} files match their sha256"
        if not bad
        else f"{len(bad)} of {len(samples)} sampled files wrong: " + "; ".join(bad[:10]),
    )


class _Scratch:
    """Throwaway databases made for one drill, dropped at the end whatever happened."""

    def __init__(self, scratch: dict | None):
        self.admin = scratch or {}
        self.urls: list[str] = []

    def create(self, kind: str) -> str:
        admin_url = self.admin.get(kind)
        if not admin_url:
            raise BackupError(
                "failed",
                f"No scratch {'PostgreSQL' if kind == 'postgres' else 'MySQL'} server is configured, so the "
                "dump cannot be loaded and checked. Give the drill an admin URL for a scratch server.",
            )
        name = f"keepwell_drill_{secrets.token_hex(6)}"
        if kind == "postgres":
            admin = parse_postgres_url(admin_url, "scratch.postgres")
            with manifests.postgres_connect(admin) as connection:
                connection.autocommit = True
                connection.execute(f'CREATE DATABASE "{name}"')
        else:
            admin = parse_mysql_url(admin_url, "scratch.mysql")
            with MySQLDefaults(admin) as defaults:
                manifests.mysql_query(defaults, admin.database, f"CREATE DATABASE `{name}`")
        # The admin URL with the scratch database's name: credentials and options (sslmode, host) kept.
        url = urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
        self.urls.append(url)
        return url

    def drop(self, url: str, evidence: Evidence) -> None:
        kind = "postgres" if url.startswith("postgres") else "mysql"
        try:
            if kind == "postgres":
                db = parse_postgres_url(url)
                admin = parse_postgres_url(self.admin["postgres"])
                with manifests.postgres_connect(admin) as connection:
                    connection.autocommit = True
                    if connection.info.server_version >= 130000:
                        connection.execute(f'DROP DATABASE IF EXISTS "{db.database}" WITH (FORCE)')
                    else:
                        connection.execute(f'DROP DATABASE IF EXISTS "{db.database}"')
            else:
                db = parse_mysql_url(url)
                admin = parse_mysql_url(self.admin["mysql"])
                with MySQLDefaults(admin) as defaults:
                    manifests.mysql_query(
                        defaults, admin.database, f"DROP DATABASE IF EXISTS `{db.database}`"
                    )
        except Exception as exc:  # cleanup must report, never hide the drill's own outcome
            name = urlsplit(url).path.lstrip("/")
            evidence.add("cleanup", False, f"could not drop the scratch database {name}: {exc}")


def _scaled(say, step: int, steps: int):
    def report(fraction, message):
        say(None if fraction is None else (step + fraction) / max(steps, 1), message)

    return report


def drill(
    spec: RepoSpec,
    snapshots: list[dict],
    sources: list[dict],
    manifest: dict,
    *,
    verify_command: str | None = None,
    scratch: dict | None = None,
    sample_files: int = 20,
    progress=None,
):
    """Restore every source into a sandbox, verify it, and clean up; return a DrillResult with evidence."""
    from keepwell.backups.engine import DrillResult

    sources = validate_sources(sources)
    say = progress or (lambda fraction, message: None)
    evidence = Evidence()
    entries = {entry.get("source"): entry for entry in (manifest or {}).get("sources", [])}
    sandbox = tempfile.mkdtemp(prefix="keepwell-drill-")
    databases = _Scratch(scratch)
    restore_seconds = 0.0
    errors: list[str] = []
    started = time.monotonic()
    try:
        for index, source in enumerate(sources):
            label = describe(source)
            expected = entries.get(index, {})
            say(index / max(len(sources), 1), f"restoring {label}")
            if not expected:
                evidence.add(
                    f"{label}: manifest",
                    False,
                    "the backup run recorded no manifest for this source, so nothing can be compared; run a new "
                    "backup and drill that one",
                )
            try:
                snapshot = restoring.snapshot_for(snapshots, index)
                began = time.monotonic()
                if source["kind"] == "path":
                    where = os.path.join(sandbox, f"source-{index}")
                    restoring.restore_tree(
                        spec,
                        snapshot,
                        where,
                        expected=int(expected.get("bytes") or 0),
                        say=_scaled(say, index, len(sources)),
                    )
                    restore_seconds += time.monotonic() - began
                    evidence.add(
                        f"{label}: restore", True, f"snapshot {snapshot[:8]} restored to the sandbox"
                    )
                    verify_tree(evidence, label, where, expected, sample_files=sample_files)
                elif source["kind"] == "sqlite":
                    where = os.path.join(sandbox, f"source-{index}")
                    os.makedirs(where)
                    path = os.path.join(where, os.path.basename(source["path"]))
                    restoring.dump_to_file(
                        spec,
                        snapshot,
                        stdin_filename(source),
                        path,
                        expected=int(expected.get("bytes") or 0),
                        say=_scaled(say, index, len(sources)),
                    )
                    restore_seconds += time.monotonic() - began
                    evidence.add(
                        f"{label}: restore", True, f"snapshot {snapshot[:8]} restored to a throwaway file"
                    )
                    ok, detail = manifests.sqlite_integrity(path)
                    evidence.add(f"{label}: integrity_check", ok, detail)
                    compare_database(evidence, label, expected, manifests.sqlite_inspect(path))
                elif source["kind"] == "postgres":
                    url = databases.create("postgres")
                    restoring.load_postgres(spec, snapshot, stdin_filename(source), url)
                    restore_seconds += time.monotonic() - began
                    evidence.add(
                        f"{label}: restore", True, f"snapshot {snapshot[:8]} loaded into a scratch database"
                    )
                    with manifests.postgres_connect(parse_postgres_url(url)) as connection:
                        compare_database(evidence, label, expected, manifests.postgres_inspect(connection))
                else:
                    url = databases.create("mysql")
                    restoring.load_mysql(spec, snapshot, stdin_filename(source), url)
                    restore_seconds += time.monotonic() - began
                    evidence.add(
                        f"{label}: restore", True, f"snapshot {snapshot[:8]} loaded into a scratch database"
                    )
                    compare_database(evidence, label, expected, manifests.mysql_inspect(parse_mysql_url(url)))
            except BackupError as exc:
                evidence.add(f"{label}: restore", False, f"{exc.kind}: {exc.message}")
                errors.append(exc.message)
            except Exception as exc:  # a verification that cannot run is a failed check, with its reason
                evidence.add(f"{label}: verify", False, f"{type(exc).__name__}: {str(exc)[:OUTPUT_LIMIT]}")
                errors.append(str(exc))
        if verify_command:
            say(None, "running the verification command")
            _run_verify(evidence, verify_command, sandbox, databases.urls)
    finally:
        say(None, "cleaning up the sandbox")
        shutil.rmtree(sandbox, ignore_errors=True)
        for url in databases.urls:
            databases.drop(url, evidence)
    ok = evidence.ok and not errors
    error = None
    if not ok:
        failed = [item for item in evidence.items if not item["ok"]]
        error = (
            errors[0]
            if errors
            else (f"{failed[0]['check']}: {failed[0]['detail']}" if failed else "nothing verified")
        )
    evidence.add(
        "duration", True, f"restore {restore_seconds:.1f} s, whole drill {time.monotonic() - started:.1f} s"
    )
    say(1.0, "drill passed" if ok else "drill failed")
    return DrillResult(ok=ok, duration=restore_seconds, evidence=evidence.items, error=error)


# The only variables a verification command inherits from the hub: never its secrets or database URLs.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")


def _run_verify(evidence: Evidence, command: str, sandbox: str, database_urls: list[str]) -> None:
    env = {key: os.environ[key] for key in INHERITED if key in os.environ}
    env["KEEPWELL_RESTORE_PATH"] = sandbox
    for url in database_urls:
        key = "KEEPWELL_RESTORE_POSTGRES_URL" if url.startswith("postgres") else "KEEPWELL_RESTORE_MYSQL_URL"
        env.setdefault(key, url)
    # Output goes to a file, so a command that prints gigabytes costs disk, not the hub's memory.
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            ["/bin/sh", "-c", command],
            cwd=sandbox,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a timeout stops everything it started
        )
        try:
            code = process.wait(timeout=VERIFY_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            evidence.add("verification command", False, f"did not finish within {VERIFY_TIMEOUT} s")
            return
        size = output.seek(0, os.SEEK_END)
        output.seek(max(size - OUTPUT_LIMIT * 4, 0))
        text = output.read().decode("utf-8", "replace").strip()
    tail = text[-OUTPUT_LIMIT:] if text else "no output"
    evidence.add("verification command", code == 0, f"exit {code}: {tail}")
