"""Checks on what people ask of the backups app (paths, restore targets): pure, no Django.

Messages name the field that is wrong and say what to give instead.
"""

import os
from urllib.parse import urlsplit

DATABASE_SCHEMES = {"postgres": "postgres", "postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}
MAX_PATH = 4096


def _inside(path: str, roots: list[str]) -> bool:
    real = os.path.realpath(path)
    for root in roots:
        base = os.path.realpath(root)
        if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
            return True
    return False


def check_path(path, field: str, roots: list[str]) -> str:
    """Return `path` if it is absolute and inside one of `roots` (any path when there are none)."""
    if not isinstance(path, str) or not path.strip() or "\x00" in path or len(path) > MAX_PATH:
        raise ValueError(f"{field} must be an absolute path such as /srv/data")
    if not os.path.isabs(path):
        raise ValueError(f"{field} must be an absolute path (it starts with /), not {path[:200]!r}")
    if roots and not _inside(path, roots):
        raise ValueError(
            f"{field} {path[:200]!r} is outside the folders this hub may back up and restore "
            f"({', '.join(roots)}); see KEEPWELL_BACKUP_PATH_ROOTS"
        )
    return path


# restic's backends, by the prefix of a location (a bare absolute path is a local repository).
BACKENDS = ("local:", "sftp:", "rest:", "s3:", "b2:", "azure:", "gs:", "swift:", "rclone:")


def check_location(location, roots: list[str]) -> str:
    """Return a repository location if restic can use it: an absolute path or a backend such as sftp: or s3:."""
    if not isinstance(location, str) or not location.strip() or "\x00" in location or len(location) > 2000:
        raise ValueError(
            "repository must be a restic location such as /srv/backups/shop or sftp:host:/backups"
        )
    location = location.strip()
    if location.startswith(BACKENDS):
        if location.startswith("local:"):
            check_path(location[len("local:") :], "repository", roots)
        return location
    if not os.path.isabs(location):
        raise ValueError(
            f"repository {location[:200]!r} is neither an absolute path nor a restic backend; give /path/to/repo "
            f"or a location starting with one of {', '.join(BACKENDS)}"
        )
    check_path(location, "repository", roots)
    return location


def local_folder(location: str) -> str | None:
    """Return the folder of a local repository location, or None for a remote backend."""
    if location.startswith("local:"):
        return location[len("local:") :]
    return location if os.path.isabs(location) else None


def check_new_repository(location: str) -> None:
    """Refuse to create a repository in a folder that holds other things (a typo must not fill /srv or /)."""
    folder = local_folder(location)
    if folder is None or not os.path.isdir(folder):
        return
    entries = set(os.listdir(folder))
    if entries and "config" not in entries:
        raise ValueError(
            f"The folder {folder} already holds other files and is not a restic repository; give a new or "
            "empty folder for the repository."
        )


def check_source_paths(sources: list, roots: list[str]) -> None:
    """Refuse path and SQLite sources outside `roots` (when the operator has set roots)."""
    for i, source in enumerate(sources):
        if not isinstance(source, dict):
            continue
        if source.get("kind") == "path":
            for j, path in enumerate(source.get("paths") or []):
                check_path(path, f"sources[{i}].paths[{j}]", roots)
        elif source.get("kind") == "sqlite":
            check_path(source.get("path"), f"sources[{i}].path", roots)


def restore_target(
    *, target: dict | None = None, path: str | None = None, database: str | None = None, roots: list[str]
) -> dict:
    """Return the engine's restore target from what was given: a target object, a path or a database URL."""
    given = [x for x in (target, path, database) if x]
    if len(given) != 1:
        raise ValueError("target: give one of target, path (a folder) or database (a database URL)")
    if path:
        target = {"kind": "path", "path": path}
    elif database:
        target = database_target(database, roots)
    if not isinstance(target, dict):
        raise ValueError('target must be an object such as {"kind": "path", "path": "/srv/restore"}')
    kind = target.get("kind")
    if kind == "path":
        where = check_path(target.get("path"), "target.path", roots)
        if os.path.exists(where) and (not os.path.isdir(where) or os.listdir(where)):
            raise ValueError(
                f"target.path {where!r} exists and is not an empty folder; restore into a new or empty "
                "folder so that nothing is overwritten"
            )
        return {"kind": "path", "path": where}
    if kind == "sqlite":
        where = check_path(target.get("path"), "target.path", roots)
        if os.path.exists(where):
            raise ValueError(f"target.path {where!r} exists; give the path of a new SQLite file")
        return {"kind": "sqlite", "path": where}
    if kind in ("postgres", "mysql"):
        url = target.get("url")
        checked = database_target(url, roots) if isinstance(url, str) else None
        if checked is None or checked["kind"] != kind:
            raise ValueError(f"target.url must be a {kind}:// URL of the database to restore into")
        return checked
    raise ValueError("target.kind must be one of path, sqlite, postgres, mysql")


def database_target(url, roots: list[str]) -> dict:
    """Return the restore target for a database URL (postgres://, mysql://, sqlite:////abs/file)."""
    if not isinstance(url, str) or not url.strip() or "\x00" in url or len(url) > 2000:
        raise ValueError(
            "database must be a URL such as postgres://user@host/db or sqlite:////srv/restored.db"
        )
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = parts.path
        if parts.netloc:
            raise ValueError(
                "database: a SQLite URL has three slashes before an absolute path: sqlite:////srv/x.db"
            )
        return restore_target(target={"kind": "sqlite", "path": path}, roots=roots)
    if scheme not in DATABASE_SCHEMES or not parts.hostname and not parts.path.strip("/"):
        raise ValueError(f"database: {scheme or 'no'} scheme; give a postgres://, mysql:// or sqlite:/// URL")
    return {"kind": DATABASE_SCHEMES[scheme], "url": url.strip()}


def redact_url(url: str) -> str:
    """Return a URL with its password hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "•••"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":•••@", 1)
    return parts._replace(netloc=netloc).geturl()


def redact(value):
    """Return a copy of sources or a target with the passwords in database URLs hidden."""
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, dict):
        return {
            k: (redact_url(v) if k == "url" and isinstance(v, str) else redact(v)) for k, v in value.items()
        }
    return value
