"""Stale restic locks: which ones a dead process left behind, and removing only those.

The rule: a lock is removed only when it is older than the limit AND its process is gone. On this host
"gone" means no process has that PID. For a lock made on another host keepwell cannot see the process, so
age alone decides, with the limit raised to at least 30 minutes: restic refreshes a live lock every
5 minutes and itself calls a lock stale after 30.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime

from keepwell.backups import restic as restic_module
from keepwell.backups.manifest import _parse_time
from keepwell.backups.restic import BackupError, RepoSpec

FOREIGN_HOST_MINIMUM = 30  # minutes; restic's own stale timeout
RESTIC_STALE_MINUTES = 30


def pid_alive(pid: int) -> bool:
    """Return True when a process with that PID exists on this machine."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def judge(
    lock: dict,
    *,
    now: datetime,
    hostname: str,
    older_than_minutes: int,
    alive: Callable[[int], bool] = pid_alive,
) -> tuple[bool, str]:
    """Return (remove?, why) for one lock under the stale-lock rule."""
    created = _parse_time(lock.get("time"))
    if created is None:
        return False, "the lock has no readable time; left alone"
    age = (now - created).total_seconds() / 60
    pid = lock.get("pid")
    host = lock.get("hostname") or "?"
    holder = f"PID {pid} on {host}"
    if lock.get("hostname") == hostname:
        if age < older_than_minutes:
            return False, f"{holder} is {age:.0f} min old, younger than {older_than_minutes} min"
        if alive(pid):
            return False, f"{holder} is still running"
        return True, f"{holder} is gone and the lock is {age:.0f} min old (limit {older_than_minutes} min)"
    limit = max(older_than_minutes, FOREIGN_HOST_MINIMUM)
    if age < limit:
        return False, f"{holder} (another host) is {age:.0f} min old, younger than {limit} min"
    return True, f"{holder} (another host) has not refreshed its lock for {age:.0f} min (limit {limit} min)"


def restic_would_remove(
    lock: dict, *, now: datetime, hostname: str, alive: Callable[[int], bool] = pid_alive
) -> bool:
    """Return True when `restic unlock` counts the lock as stale (restic's own rule)."""
    created = _parse_time(lock.get("time"))
    if created is None:
        return False
    if (now - created).total_seconds() > RESTIC_STALE_MINUTES * 60:
        return True
    return lock.get("hostname") == hostname and not alive(lock.get("pid"))


def list_locks(spec: RepoSpec) -> list[dict]:
    """Return every lock in the repository with its id, time, host, PID and whether it is exclusive."""
    done = restic_module.run(spec, "list", "locks", "--no-lock")
    locks = []
    for line in done.stdout.decode("utf-8", "replace").split():
        lock_id = line.strip()
        if len(lock_id) != 64:
            continue
        try:
            details = restic_module.run_json(spec, "cat", "lock", lock_id, "--no-lock")
        except BackupError as exc:
            if exc.kind == "failed":  # removed meanwhile: its holder finished
                continue
            raise
        if isinstance(details, dict):
            locks.append({"id": lock_id, **details})
    return locks


def remove_stale_locks(spec: RepoSpec, *, older_than_minutes: int) -> list[dict]:
    """Remove the locks the rule calls stale; return one dict per removed lock saying which and why."""
    if (
        isinstance(older_than_minutes, bool)
        or not isinstance(older_than_minutes, int)
        or older_than_minutes < 0
    ):
        raise ValueError("older_than_minutes must be a whole number of minutes, 0 or more.")
    now = datetime.now(UTC)
    hostname = socket.gethostname()
    locks = list_locks(spec)
    chosen = []
    for lock in locks:
        remove, why = judge(lock, now=now, hostname=hostname, older_than_minutes=older_than_minutes)
        if remove:
            chosen.append(_record(lock, why))
    if not chosen:
        return []
    root = restic_module.local_path(spec.location)
    if root is not None:
        removed = []
        for record in chosen:
            path = os.path.join(root, "locks", record["id"])
            try:
                os.unlink(path)
            except FileNotFoundError:
                continue
            removed.append(record)
        return removed
    # Another backend: only restic can delete there, and `restic unlock` removes every lock it calls
    # stale. Run it only when that set is within ours, so it never removes a lock the rule keeps.
    chosen_ids = {record["id"] for record in chosen}
    restic_set = {lock["id"] for lock in locks if restic_would_remove(lock, now=now, hostname=hostname)}
    if not restic_set or not restic_set <= chosen_ids:
        return []
    restic_module.run(spec, "unlock")
    return [record for record in chosen if record["id"] in restic_set]


def _record(lock: dict, why: str) -> dict:
    return {
        "id": lock["id"],
        "time": lock.get("time"),
        "hostname": lock.get("hostname"),
        "pid": lock.get("pid"),
        "exclusive": bool(lock.get("exclusive")),
        "reason": why,
    }


__all__ = ["judge", "list_locks", "pid_alive", "remove_stale_locks", "restic_would_remove"]
