"""The backups engine: everything that touches restic, databases and files, with no Django import.

The backups app (models, jobs, API, CLI, UI) calls only the names defined or re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from keepwell.backups.growth import growth_alert
from keepwell.backups.restic import BackupError, RepoSpec, ResticInfo, restic_info
from keepwell.backups.restic import validate_subset as validate_read_data_subset
from keepwell.backups.retention import validate_retention
from keepwell.backups.sources import validate_sources

__all__ = [
    "BackupError",
    "BackupResult",
    "CheckResult",
    "DrillResult",
    "Progress",
    "RepoSpec",
    "ResticInfo",
    "RestoreResult",
    "check",
    "drill",
    "forget_prune",
    "growth_alert",
    "init_repository",
    "list_snapshots",
    "remove_stale_locks",
    "repo_stats",
    "restic_info",
    "restore",
    "run_backup",
    "validate_read_data_subset",
    "validate_retention",
    "validate_sources",
]

Progress = Callable[[float | None, str], None]


@dataclass
class BackupResult:
    """What one backup run produced."""

    snapshots: list[dict]
    manifest: dict
    duration: float
    bytes_added: int
    total_bytes: int


@dataclass
class CheckResult:
    """The outcome of `restic check`."""

    ok: bool
    output: str
    errors: list[str] = field(default_factory=list)


@dataclass
class RestoreResult:
    """What a restore wrote, and where."""

    target: dict
    duration: float
    restored: list[dict] = field(default_factory=list)


@dataclass
class DrillResult:
    """The outcome of a restore drill and its evidence."""

    ok: bool
    duration: float
    evidence: list[dict] = field(default_factory=list)
    error: str | None = None


def init_repository(spec: RepoSpec) -> bool:
    """Create the repository; return True when created, False when it already existed."""
    from keepwell.backups import restic

    return restic.init_repository(spec)


def run_backup(
    spec: RepoSpec, sources: list[dict], *, tags: list[str], progress: Progress | None = None
) -> BackupResult:
    """Back up every source into its own snapshot and return the snapshots and the manifest."""
    from keepwell.backups import backup

    return backup.run_backup(spec, sources, tags=tags, progress=progress)


def list_snapshots(spec: RepoSpec, *, tags: list[str] | None = None) -> list[dict]:
    """Return restic's snapshots (its JSON), oldest first, newest last."""
    from keepwell.backups import restic

    return restic.list_snapshots(spec, tags=tags)


def forget_prune(spec: RepoSpec, retention: dict, *, tags: list[str] | None = None) -> dict:
    """Apply the retention policy with forget --prune; return {"kept": [ids], "removed": [ids]}."""
    from keepwell.backups import retention as retention_module

    return retention_module.forget_prune(spec, retention, tags=tags)


def check(spec: RepoSpec, *, read_data_subset: str | None = None) -> CheckResult:
    """Run `restic check` (optionally reading a subset of the data) and report what it found."""
    from keepwell.backups import restic

    ok, output, errors = restic.check(spec, read_data_subset=read_data_subset)
    return CheckResult(ok=ok, output=output, errors=errors)


def restore(
    spec: RepoSpec,
    snapshots: list[dict],
    sources: list[dict],
    target: dict,
    *,
    progress: Progress | None = None,
) -> RestoreResult:
    """Restore the snapshots of a backup run to a path, or load a database dump into a database."""
    from keepwell.backups import restoring

    return restoring.restore(spec, snapshots, sources, target, progress=progress)


def drill(
    spec: RepoSpec,
    snapshots: list[dict],
    sources: list[dict],
    manifest: dict,
    *,
    verify_command: str | None = None,
    scratch: dict | None = None,
    sample_files: int = 20,
    progress: Progress | None = None,
) -> DrillResult:
    """Restore the snapshots into a sandbox, verify them against the manifest, and always clean up."""
    from keepwell.backups import drill as drill_module

    return drill_module.drill(
        spec,
        snapshots,
        sources,
        manifest,
        verify_command=verify_command,
        scratch=scratch,
        sample_files=sample_files,
        progress=progress,
    )


def repo_stats(spec: RepoSpec) -> dict:
    """Return {"total_size": restore size, "raw_size": bytes stored, "snapshots": count} from restic stats."""
    from keepwell.backups import restic

    return restic.repo_stats(spec)


def remove_stale_locks(spec: RepoSpec, *, older_than_minutes: int) -> list[dict]:
    """Remove the locks left by dead processes that are older than the limit; return what was removed."""
    from keepwell.backups import locks

    return locks.remove_stale_locks(spec, older_than_minutes=older_than_minutes)
