"""keepwell backs itself up: the hub's database and data directory, to a repository the operator names.

`keepwell backup-self` runs it by hand; when KEEPWELL_SELF_BACKUP_REPOSITORY is set, the backups tick also
runs it on KEEPWELL_SELF_BACKUP_SCHEDULE (the default plan). The database is copied consistently: SQLite
through its online backup API, PostgreSQL with pg_dump (the engine's sqlite and postgres sources).
"""

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from keepwell.core import cron

log = logging.getLogger("keepwell.backups")

TAG = "keepwell-self"
RETENTION = {"keep_last": 3, "keep_daily": 7, "keep_weekly": 4, "keep_monthly": 6}
LOCK_KEY = "keepwell:self-backup:lock"
NEXT_KEY = "keepwell:self-backup:next"
LOCK_SECONDS = 6 * 3600
STATE_FILE = "self-backup.json"  # in the data directory: the last self-backup's outcome


class SelfBackupError(Exception):
    """The self-backup failed; the message says why and what to do."""


def configured(repository: str | None = None, password_file: str | None = None) -> tuple[str, str]:
    """Return (repository, password) from the arguments or the settings; ValueError when one is missing."""
    repository = (repository or settings.SELF_BACKUP_REPOSITORY or "").strip()
    if not repository:
        raise ValueError(
            "No repository for keepwell's own backup: give --repository or set KEEPWELL_SELF_BACKUP_REPOSITORY."
        )
    password = ""
    path = password_file or settings.SELF_BACKUP_PASSWORD_FILE
    if password_file or (not settings.SELF_BACKUP_PASSWORD and path):
        try:
            password = Path(path).read_text().strip()
        except OSError as exc:
            raise ValueError(f"The password file {path} cannot be read ({exc.strerror or exc}).") from None
    else:
        password = settings.SELF_BACKUP_PASSWORD
    if not password:
        raise ValueError(
            "No password for keepwell's own backup: give --password-file or set KEEPWELL_SELF_BACKUP_PASSWORD "
            "(or KEEPWELL_SELF_BACKUP_PASSWORD_FILE)."
        )
    return repository, password


def sources(database: dict | None = None, data_dir=None, database_url: str | None = None) -> list[dict]:
    """Return the engine's sources for the hub: its database, consistently, and its data directory."""
    db = database or settings.DATABASES["default"]
    data_dir = Path(data_dir or settings.DATA_DIR).resolve()
    out = []
    exclude = [str(data_dir / "cache"), str(Path(settings.BACKUP_CACHE_DIR).resolve())]
    # The job queue's own SQLite file holds only pending work; copied raw it could be torn, so it stays out.
    for name in ("jobs.sqlite3", "jobs.sqlite3-wal", "jobs.sqlite3-shm"):
        exclude.append(str(data_dir / name))
    if db["ENGINE"].endswith("sqlite3"):
        path = Path(db["NAME"]).resolve()
        out.append({"kind": "sqlite", "path": str(path)})
        # The live file is never copied raw: the sqlite source above is its consistent copy.
        exclude += [str(path), f"{path}-wal", f"{path}-shm", f"{path}-journal"]
    elif db["ENGINE"].endswith("postgresql"):
        configured_url = settings.DATABASE_URL if database is None else ""
        out.append({"kind": "postgres", "url": database_url or configured_url or _postgres_url(db)})
    else:
        raise SelfBackupError(f"keepwell cannot back up a {db['ENGINE']} database itself.")
    out.append({"kind": "path", "paths": [str(data_dir)], "exclude": exclude})
    return out


def _postgres_url(db: dict) -> str:
    """Return a postgres:// URL for Django's database settings (when not configured by a URL)."""
    from urllib.parse import quote

    user = quote(db.get("USER") or "", safe="")
    secret = f":{quote(db.get('PASSWORD') or '', safe='')}" if db.get("PASSWORD") else ""
    auth = f"{user}{secret}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or 'localhost'}{port}/{quote(str(db['NAME']), safe='')}"


def run(
    repository: str, password: str, *, progress=None, forget: bool = True, what: list | None = None
) -> dict:
    """Back up the hub now (one at a time), then apply the default retention; return what happened."""
    from . import engine

    if not cache.add(LOCK_KEY, 1, timeout=LOCK_SECONDS):
        raise SelfBackupError("keepwell's own backup is already running; wait for it to finish.")
    started = timezone.now()
    spec = engine.RepoSpec(
        location=repository,
        password=password,
        restic=settings.BACKUP_RESTIC,
        cache_dir=settings.BACKUP_CACHE_DIR or None,
    )
    try:
        created = engine.init_repository(spec)
        removed = engine.remove_stale_locks(spec, older_than_minutes=settings.BACKUP_STALE_LOCK_MINUTES)
        for lock in removed:
            log.warning("backups: removed a stale restic lock before keepwell's own backup: %s", lock)
        result = engine.run_backup(spec, what or sources(), tags=[TAG], progress=progress)
        forgotten = engine.forget_prune(spec, RETENTION, tags=[TAG]) if forget else None
    except engine.BackupError as exc:
        _remember({"ok": False, "at": started.isoformat(), "error": f"{exc.kind}: {exc}"})
        raise SelfBackupError(f"keepwell's own backup failed [{exc.kind}]: {exc}") from None
    finally:
        cache.delete(LOCK_KEY)
    ids = [s.get("short_id") or str(s.get("id", ""))[:8] for s in result.snapshots]
    summary = (
        f"Backed up keepwell ({len(result.snapshots)} snapshot(s): {', '.join(ids)}) in {result.duration:.1f} s"
        f"{' into a new repository' if created else ''}; {result.bytes_added} bytes added."
    )
    if forgotten is not None:
        summary += (
            f" Retention kept {len(forgotten.get('kept', []))}, removed {len(forgotten.get('removed', []))}."
        )
    state = {"ok": True, "at": started.isoformat(), "snapshots": result.snapshots, "summary": summary}
    _remember(state)
    return {**state, "manifest": result.manifest}


def _remember(state: dict) -> None:
    try:
        (Path(settings.DATA_DIR) / STATE_FILE).write_text(json.dumps(state, default=str))
    except OSError as exc:  # the backup itself is what matters
        log.warning("backups: cannot write %s: %s", STATE_FILE, exc)


def last() -> dict | None:
    """Return the outcome of the last self-backup, or None."""
    try:
        return json.loads((Path(settings.DATA_DIR) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def tick(now: datetime | None = None) -> bool:
    """Queue keepwell's own backup when its schedule is due and a repository is set; True when queued."""
    if not settings.SELF_BACKUP_REPOSITORY:
        return False
    now = now or timezone.now()
    try:
        line = cron.validate_cron(settings.SELF_BACKUP_SCHEDULE, "UTC", field="KEEPWELL_SELF_BACKUP_SCHEDULE")
    except ValueError as exc:
        log.error("backups: %s", exc)
        return False
    due = cache.get(NEXT_KEY)
    if due is None:
        cache.set(NEXT_KEY, cron.next_fire(line, "UTC", now).timestamp(), timeout=None)
        return False
    if datetime.fromtimestamp(due, UTC) > now:
        return False
    cache.set(NEXT_KEY, cron.next_fire(line, "UTC", now).timestamp(), timeout=None)
    from .tasks import self_backup_job

    self_backup_job()
    return True
