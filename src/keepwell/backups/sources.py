"""Backup sources: their validation, and how each kind reaches restic (files, a SQLite copy, a dump stream)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

KINDS = ("path", "sqlite", "postgres", "mysql")
MAX_SOURCES = 50
MAX_PATHS = 200
MAX_TEXT = 4096

_FIELDS = {
    "path": ({"kind", "paths"}, {"exclude"}),
    "sqlite": ({"kind", "path"}, set()),
    "postgres": ({"kind", "url"}, set()),
    "mysql": ({"kind", "url"}, set()),
}


def validate_sources(sources) -> list[dict]:
    """Return the sources normalized; raise ValueError naming the field that is wrong and how to fix it."""
    if not isinstance(sources, list) or not sources:
        raise ValueError('sources must be a non-empty list, e.g. [{"kind": "path", "paths": ["/srv/app"]}].')
    if len(sources) > MAX_SOURCES:
        raise ValueError(f"sources has {len(sources)} entries; at most {MAX_SOURCES} are allowed per plan.")
    return [validate_source(source, f"sources[{index}]") for index, source in enumerate(sources)]


def validate_source(source, where: str = "source") -> dict:
    """Return one source normalized; raise ValueError naming the field."""
    if not isinstance(source, dict):
        raise ValueError(f'{where} must be an object with a "kind".')
    kind = source.get("kind")
    if kind not in KINDS:
        raise ValueError(f"{where}.kind must be one of {', '.join(KINDS)} (got {_show(kind)}).")
    required, optional = _FIELDS[kind]
    unknown = sorted(set(source) - required - optional)
    if unknown:
        raise ValueError(
            f"{where} has unknown field {unknown[0]!r}; a {kind} source takes {', '.join(sorted(required | optional))}."
        )
    missing = sorted(required - set(source))
    if missing:
        raise ValueError(f"{where}.{missing[0]} is required for a {kind} source.")
    if kind == "path":
        paths = source["paths"]
        if not isinstance(paths, list) or not paths:
            raise ValueError(f"{where}.paths must be a non-empty list of absolute paths.")
        if len(paths) > MAX_PATHS:
            raise ValueError(f"{where}.paths has {len(paths)} entries; at most {MAX_PATHS} are allowed.")
        clean = [_absolute_path(path, f"{where}.paths[{i}]") for i, path in enumerate(paths)]
        exclude = source.get("exclude", [])
        if exclude is None:
            exclude = []
        if not isinstance(exclude, list) or len(exclude) > MAX_PATHS:
            raise ValueError(
                f"{where}.exclude must be a list of at most {MAX_PATHS} restic exclude patterns."
            )
        patterns = [_text(pattern, f"{where}.exclude[{i}]") for i, pattern in enumerate(exclude)]
        return {"kind": "path", "paths": clean, "exclude": patterns}
    if kind == "sqlite":
        return {"kind": "sqlite", "path": _absolute_path(source["path"], f"{where}.path")}
    url = _text(source["url"], f"{where}.url")
    if kind == "postgres":
        parse_postgres_url(url, f"{where}.url")
    else:
        parse_mysql_url(url, f"{where}.url")
    return {"kind": kind, "url": url}


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where} must be a non-empty string.")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{where} is {len(value)} characters long; at most {MAX_TEXT} are allowed.")
    if "\x00" in value or "\n" in value or "\r" in value:
        raise ValueError(f"{where} must not contain NUL or line breaks.")
    return value.strip()


def _absolute_path(value, where: str) -> str:
    path = _text(value, where)
    if not path.startswith("/"):
        raise ValueError(f"{where} must be an absolute path starting with / (got {_show(path)}).")
    return os.path.normpath(path)


@dataclass
class DatabaseURL:
    """A database URL split into the parts the client tools take."""

    scheme: str
    host: str
    port: int | None
    user: str
    password: str
    database: str
    options: dict[str, str]

    def redacted(self) -> str:
        """Return the URL without its password, for logs and manifests."""
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}://{user}{self.host}{port}/{self.database}"


def _parse_url(url: str, where: str, schemes: tuple[str, ...], example: str) -> DatabaseURL:
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise ValueError(
            f"{where} must start with {' or '.join(s + '://' for s in schemes)}, e.g. {example}."
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{where} has an invalid port; use a number between 1 and 65535.")
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise ValueError(f"{where} must name one database in its path, e.g. {example}.")
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return DatabaseURL(
        scheme=parts.scheme,
        # postgres:///db?host=/run/postgresql names a Unix socket directory, as libpq's URLs allow.
        host=parts.hostname or options.get("host", ""),
        port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=database,
        options=options,
    )


def parse_postgres_url(url: str, where: str = "url") -> DatabaseURL:
    """Parse a postgres:// URL; raise ValueError naming `where` when it is not usable."""
    return _parse_url(url, where, ("postgres", "postgresql"), "postgres://user:password@db.example.com/app")


def parse_mysql_url(url: str, where: str = "url") -> DatabaseURL:
    """Parse a mysql:// (or mariadb://) URL; raise ValueError naming `where` when it is not usable."""
    return _parse_url(url, where, ("mysql", "mariadb"), "mysql://user:password@db.example.com:3306/app")


def postgres_env(db: DatabaseURL) -> dict[str, str]:
    """Return libpq's environment for `db`, so the password never appears on a command line."""
    env = {"PGDATABASE": db.database, "PGCONNECT_TIMEOUT": "15"}
    if db.host:
        env["PGHOST"] = db.host
    if db.port:
        env["PGPORT"] = str(db.port)
    if db.user:
        env["PGUSER"] = db.user
    if db.password:
        env["PGPASSWORD"] = db.password
    if "sslmode" in db.options:
        env["PGSSLMODE"] = db.options["sslmode"]
    return env


class MySQLDefaults:
    """A private option file with the connection settings, so the password never appears on a command line."""

    def __init__(self, db: DatabaseURL):
        self.db = db
        self.dir = tempfile.mkdtemp(prefix="keepwell-mysql-")
        self.path = os.path.join(self.dir, "client.cnf")
        lines = ["[client]"]
        if self.db.host:
            lines.append(f"host={_option(self.db.host)}")
        if self.db.port:
            lines.append(f"port={self.db.port}")
            lines.append("protocol=tcp")
        if self.db.user:
            lines.append(f"user={_option(self.db.user)}")
        if self.db.password:
            lines.append(f"password={_option(self.db.password)}")
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")

    def __enter__(self) -> str:
        return self.path

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _option(value: str) -> str:
    # Option files take double-quoted values with backslash escapes.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def mysql_tool(*names: str) -> str:
    """Return the first MySQL/MariaDB client tool found on PATH, e.g. mariadb-dump or mysqldump."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError(f"none of {', '.join(names)} is installed")


def stdin_filename(source: dict) -> str:
    """Return the stable file name a database source has inside its snapshot."""
    kind = source["kind"]
    if kind == "sqlite":
        return f"sqlite/{_safe(os.path.basename(source['path']))}"
    if kind == "postgres":
        db = parse_postgres_url(source["url"])
        return f"postgres/{_safe(db.host or 'local')}/{_safe(db.database)}.dump"
    if kind == "mysql":
        db = parse_mysql_url(source["url"])
        return f"mysql/{_safe(db.host or 'local')}/{_safe(db.database)}.sql"
    raise ValueError(f"a {kind} source has no stdin file name")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip(".") or "db"


def sqlite_copy(path: str, directory: str) -> str:
    """Copy a live SQLite database consistently through the online backup API; return the copy's path."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"the SQLite database {path} does not exist")
    copy = os.path.join(directory, "copy.sqlite3")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        # Refuse a file that is not a database before copying it.
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        target = sqlite3.connect(copy)
        try:
            source.backup(target, pages=4096)
        finally:
            target.close()
    finally:
        source.close()
    return copy


def describe(source: dict) -> str:
    """Return a short human description of a source, without credentials."""
    kind = source.get("kind")
    if kind == "path":
        paths = source.get("paths", [])
        more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
        return f"files {paths[0] if paths else '?'}{more}"
    if kind == "sqlite":
        return f"SQLite {source.get('path')}"
    if kind == "postgres":
        return f"PostgreSQL {parse_postgres_url(source['url']).redacted()}"
    if kind == "mysql":
        return f"MySQL {parse_mysql_url(source['url']).redacted()}"
    return str(kind)
