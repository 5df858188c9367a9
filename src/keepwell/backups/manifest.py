"""Manifests: what a snapshot holds (file counts, sizes, sample checksums; each table's rows and a schema hash)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
import subprocess
from datetime import datetime

from keepwell.backups.sources import DatabaseURL, MySQLDefaults, mysql_tool

# Sample checksums skip files larger than this and stop at a total, so neither a backup nor a drill spends
# long reading them (the count and total size of every file are checked as well).
SAMPLE_MAX_BYTES = 8 << 20
SAMPLE_BUDGET = 64 << 20

_SPACE = re.compile(r"\s+")


def normalize(value):
    """Return a schema value with whitespace collapsed, so formatting alone never changes the hash."""
    if isinstance(value, str):
        return _SPACE.sub(" ", value).strip()
    if isinstance(value, list | tuple):
        return [normalize(item) for item in value]
    return value


def schema_hash(rows) -> str:
    """Return a stable hash of schema rows, independent of their order and of whitespace."""
    normalized = sorted(json.dumps(normalize(list(row)), default=str) for row in rows)
    digest = hashlib.sha256("\n".join(normalized).encode("utf-8")).hexdigest()
    return f"sha256:{digest}"


def sha256_file(path: str, *, chunk: int = 1 << 20) -> str:
    """Return the sha256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


# --- SQLite ---


def sqlite_inspect(path: str) -> dict:
    """Return each table's row count and the schema hash of a SQLite database file."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        schema = connection.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).fetchall()
        tables = [
            name for kind, name, _, sql in schema if kind == "table" and sql and "VIRTUAL" not in sql.upper()
        ]
        counts = {}
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            counts[table] = connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
        version = connection.execute("SELECT sqlite_version()").fetchone()[0]
    finally:
        connection.close()
    return {"tables": counts, "schema_hash": schema_hash(schema), "server_version": f"SQLite {version}"}


def sqlite_integrity(path: str) -> tuple[bool, str]:
    """Run PRAGMA integrity_check; return (ok, its first lines)."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = [str(row[0]) for row in connection.execute("PRAGMA integrity_check(20)").fetchall()]
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:  # damaged beyond what integrity_check can walk
        return False, f"SQLite refuses the file: {exc}"
    return rows == ["ok"], "; ".join(rows)[:2000]


# --- PostgreSQL (psycopg 3, the postgres extra) ---

_PG_TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
ORDER BY 1, 2
"""
_PG_SCHEMA = (
    """
SELECT 'column', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       a.attnotnull::text, coalesce(pg_get_expr(d.adbin, d.adrelid), ''),
       row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)::text
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%%'
""",
    """
SELECT 'constraint', n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid), '', '', ''
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%%'
""",
    """
SELECT 'index', schemaname, tablename, indexname, indexdef, '', '', '' FROM pg_indexes
WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname NOT LIKE 'pg\\_%%'
""",
    """
SELECT 'view', schemaname, viewname, '', definition, '', '', '' FROM pg_views
WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname NOT LIKE 'pg\\_%%'
""",
)


def postgres_connect(db: DatabaseURL):
    """Open a psycopg connection to `db`; raise RuntimeError when psycopg is not installed."""
    try:
        import psycopg
    except ImportError:
        raise RuntimeError(
            "PostgreSQL sources need psycopg: install keepwell with the postgres extra "
            "(pip install 'keepwell[postgres]')."
        )
    params = {"dbname": db.database, "connect_timeout": 15}
    if db.host:
        params["host"] = db.host
    if db.port:
        params["port"] = db.port
    if db.user:
        params["user"] = db.user
    if db.password:
        params["password"] = db.password
    if "sslmode" in db.options:
        params["sslmode"] = db.options["sslmode"]
    return psycopg.connect(**params)


def postgres_inspect(connection) -> dict:
    """Return each table's row count and the schema hash, read through an open psycopg connection."""
    from psycopg import sql

    with connection.cursor() as cursor:
        cursor.execute(_PG_TABLES)
        tables = cursor.fetchall()
        rows = []
        for query in _PG_SCHEMA:
            cursor.execute(query)
            rows.extend(cursor.fetchall())
        counts = {}
        for schema, table in tables:
            cursor.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            )
            name = table if schema == "public" else f"{schema}.{table}"
            counts[name] = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    return {"tables": counts, "schema_hash": schema_hash(rows), "server_version": f"PostgreSQL {version}"}


# --- MySQL / MariaDB (through the mysql client, which ships with mysqldump) ---


def mysql_query(defaults: str, database: str, query: str, *, timeout: float = 600) -> list[list[str]]:
    """Run one query with the mysql client in batch mode; return its rows as lists of strings."""
    client = mysql_tool("mariadb", "mysql")
    done = subprocess.run(
        [
            client,
            f"--defaults-extra-file={defaults}",
            "--batch",
            "--skip-column-names",
            "-e",
            query,
            database,
        ],
        capture_output=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(
            done.stderr.decode("utf-8", "replace").strip() or f"mysql exited {done.returncode}"
        )
    text = done.stdout.decode("utf-8", "replace")
    # Batch mode escapes tabs, newlines, NULs and backslashes inside values, so splitting is safe.
    return [[_unescape(field) for field in line.split("\t")] for line in text.split("\n") if line]


_ESCAPES = {"n": "\n", "t": "\t", "0": "\0", "\\": "\\"}


def _unescape(field: str) -> str:
    return re.sub(r"\\(.)", lambda match: _ESCAPES.get(match[1], match[1]), field)


def _mysql_identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _mysql_literal(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "''") + "'"


def mysql_inspect(db: DatabaseURL) -> dict:
    """Return each table's row count and the schema hash of a MySQL/MariaDB database."""
    with MySQLDefaults(db) as defaults:
        tables = [
            row[0]
            for row in mysql_query(
                defaults,
                db.database,
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
                "AND table_type = 'BASE TABLE' ORDER BY table_name",
            )
        ]
        rows = [
            ["column", *row]
            for row in mysql_query(
                defaults,
                db.database,
                "SELECT table_name, column_name, ordinal_position, column_type, is_nullable, "
                "coalesce(column_default, '<none>'), extra FROM information_schema.columns "
                "WHERE table_schema = DATABASE()",
            )
        ]
        rows += [
            ["index", *row]
            for row in mysql_query(
                defaults,
                db.database,
                "SELECT table_name, index_name, non_unique, seq_in_index, column_name FROM "
                "information_schema.statistics WHERE table_schema = DATABASE()",
            )
        ]
        counts: dict[str, int] = {}
        for start in range(0, len(tables), 200):
            chunk = tables[start : start + 200]
            query = " UNION ALL ".join(
                f"SELECT {_mysql_literal(table)}, COUNT(*) FROM {_mysql_identifier(table)}" for table in chunk
            )
            for name, count in mysql_query(defaults, db.database, query):
                counts[name] = int(count)
        version = mysql_query(defaults, db.database, "SELECT version()")[0][0]
    return {"tables": counts, "schema_hash": schema_hash(rows), "server_version": f"MySQL/MariaDB {version}"}


# --- files: a sample of what restic stored, checksummed for the drills ---


def _parse_time(value: str) -> datetime | None:
    if not isinstance(value, str):
        return None
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", value)
    if not match:
        return None
    fraction = (match[2] or "0")[:6].ljust(6, "0")
    zone = match[3] or "Z"
    zone = "+00:00" if zone == "Z" else zone
    try:
        return datetime.fromisoformat(f"{match[1]}.{fraction}{zone}")
    except ValueError:
        return None


def _sample_rank(path: str) -> str:
    return hashlib.sha1(path.encode("utf-8", "surrogateescape")).hexdigest()


class FileSampler:
    """Pick a sample of the files restic reports backing up and checksum them for later drills.

    restic backup -vv --json names every file it stores (verbose_status messages); ranking the names by a
    hash picks a stable, spread-out sample without a second pass over the snapshot.
    """

    def __init__(self, started_ns: int, *, sample_files: int = 20):
        self.started_ns = started_ns
        self.sample_files = sample_files
        self.candidates: list[tuple[str, str]] = []

    def item(self, message: dict) -> None:
        """Consider one restic message; keep it when it names a file."""
        path = message.get("item")
        if message.get("message_type") != "verbose_status" or not isinstance(path, str) or path.endswith("/"):
            return
        self.candidates.append((_sample_rank(path), path))
        # Keep only the best few candidates so a million-file tree stays cheap.
        if len(self.candidates) > self.sample_files * 16:
            self.candidates.sort()
            del self.candidates[self.sample_files * 8 :]

    def samples(self) -> list[dict]:
        """Checksum the chosen files; return [{"path", "size", "sha256"}]."""
        samples = []
        budget = SAMPLE_BUDGET
        for _, path in sorted(self.candidates):
            if len(samples) >= self.sample_files:
                break
            sample = checksum_if_unchanged(path, self.started_ns, budget)
            if sample:
                samples.append(sample)
                budget -= sample["size"]
        return samples


def checksum_if_unchanged(path: str, started_ns: int, budget: int = SAMPLE_BUDGET) -> dict | None:
    """Return {"path", "size", "sha256"} for a regular file untouched since `started_ns`, else None."""
    # A file written since restic started may differ from what restic stored: it would make a false alarm.
    try:
        before = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(before.st_mode) or not 0 < before.st_size <= min(SAMPLE_MAX_BYTES, budget):
        return None
    if before.st_mtime_ns >= started_ns or before.st_ctime_ns >= started_ns:
        return None
    try:
        checksum = sha256_file(path)
        after = os.lstat(path)
    except OSError:
        return None
    unchanged = (after.st_size, after.st_mtime_ns, after.st_ctime_ns) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ctime_ns,
    )
    return {"path": path, "size": before.st_size, "sha256": checksum} if unchanged else None


def tool_versions(info, *extra: str) -> dict:
    """Return the versions of the tools a run used."""
    versions = {"restic": info.version}
    for tool in extra:
        try:
            done = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=10)
            versions[os.path.basename(tool)] = (done.stdout or done.stderr).strip().splitlines()[0][:200]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            versions[os.path.basename(tool)] = "unknown"
    return versions
