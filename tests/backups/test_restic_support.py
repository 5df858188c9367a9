"""Fixtures for the backups engine tests: real restic repositories, real PostgreSQL and MariaDB databases.

Import the fixtures a test module needs from here. Set KEEPWELL_TEST_ENGINE_POSTGRES and
KEEPWELL_TEST_ENGINE_MYSQL to admin URLs to use other servers than the local ones.
"""

import os
import secrets
import shutil
import sqlite3
import subprocess

import pytest

from keepwell.backups import engine
from keepwell.backups.manifest import postgres_connect
from keepwell.backups.sources import MySQLDefaults, parse_mysql_url, parse_postgres_url

POSTGRES_ADMIN = os.environ.get(
    "KEEPWELL_TEST_ENGINE_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres"
)
MYSQL_ADMIN = os.environ.get("KEEPWELL_TEST_ENGINE_MYSQL", "mysql://root@127.0.0.1:3306/mysql")
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory):
    """Initialize one repository per session; tests get copies (restic init costs a key derivation)."""
    path = tmp_path_factory.mktemp("template") / "repo"
    assert engine.init_repository(engine.RepoSpec(location=str(path), password=PASSWORD))
    return path


@pytest.fixture
def repo(template_repo, tmp_path):
    """Return a RepoSpec for a fresh, empty repository of this test's own."""
    target = tmp_path / "repo"
    shutil.copytree(template_repo, target)
    return engine.RepoSpec(location=str(target), password=PASSWORD)


def make_tree(root, files=30, size=1000):
    """Write a small tree of files with distinct contents; return the root."""
    os.makedirs(root / "sub", exist_ok=True)
    for i in range(files):
        (root / "sub" / f"file-{i}.txt").write_bytes(f"{i}:".encode() + os.urandom(size))
    (root / "top.txt").write_text("top level\n")
    return root


AWKWARD_TABLE = 'order "items"'
AWKWARD_SQL = '"order ""items"""'


def make_sqlite(path, rows=100):
    """Create a SQLite database with two tables (one with an awkward name) and rows."""
    connection = sqlite3.connect(path)
    connection.executescript(
        f"""
        CREATE TABLE IF NOT EXISTS customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS {AWKWARD_SQL} (id INTEGER PRIMARY KEY, customer_id INTEGER, total REAL);
        CREATE INDEX IF NOT EXISTS customer_name ON customer(name);
        """
    )
    connection.executemany("INSERT INTO customer(name) VALUES (?)", [(f"c{i}",) for i in range(rows)])
    connection.executemany(
        f"INSERT INTO {AWKWARD_SQL} (customer_id, total) VALUES (?, ?)",
        [(i, i * 1.5) for i in range(rows // 2)],
    )
    connection.commit()
    connection.close()
    return path


def _postgres_available() -> bool:
    try:
        postgres_connect(parse_postgres_url(POSTGRES_ADMIN)).close()
        return True
    except Exception:
        return False


def _mysql_available() -> bool:
    try:
        with MySQLDefaults(parse_mysql_url(MYSQL_ADMIN)) as defaults:
            done = subprocess.run(
                ["mysql", f"--defaults-extra-file={defaults}", "-e", "SELECT 1"],
                capture_output=True,
                timeout=10,
            )
        return done.returncode == 0
    except Exception:
        return False


def postgres_admin_execute(sql: str):
    """Run a statement on the admin database with autocommit."""
    with postgres_connect(parse_postgres_url(POSTGRES_ADMIN)) as connection:
        connection.autocommit = True
        cursor = connection.execute(sql)
        return cursor.fetchall() if cursor.description else None


def postgres_url_for(name: str) -> str:
    """Return the URL of database `name` on the admin server."""
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name


def mysql_url_for(name: str) -> str:
    """Return the URL of database `name` on the MySQL admin server."""
    return MYSQL_ADMIN.rsplit("/", 1)[0] + "/" + name


def mysql_execute(url: str, sql: str) -> list[list[str]]:
    """Run SQL with the mysql client against the database at `url`."""
    from keepwell.backups.manifest import mysql_query

    db = parse_mysql_url(url)
    with MySQLDefaults(db) as defaults:
        return mysql_query(defaults, db.database, sql)


def make_postgres_db() -> str:
    """Create a scratch PostgreSQL database with data in three tables; return its URL."""
    if not _postgres_available():
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN}")
    name = f"kw_engine_{secrets.token_hex(4)}"
    postgres_admin_execute(f'CREATE DATABASE "{name}"')
    url = postgres_url_for(name)
    with postgres_connect(parse_postgres_url(url)) as connection:
        connection.execute(
            """
            CREATE TABLE customer (id serial PRIMARY KEY, name text NOT NULL, joined date DEFAULT now());
            CREATE TABLE "Order Items" (id bigserial PRIMARY KEY, customer_id int REFERENCES customer(id),
                                        total numeric(10, 2));
            CREATE INDEX customer_name ON customer (name);
            CREATE SCHEMA billing;
            CREATE TABLE billing.invoice (id int PRIMARY KEY, amount int CHECK (amount >= 0));
            INSERT INTO customer (name) SELECT 'c' || g FROM generate_series(1, 300) g;
            INSERT INTO "Order Items" (customer_id, total) SELECT g, g * 1.5 FROM generate_series(1, 120) g;
            INSERT INTO billing.invoice SELECT g, g FROM generate_series(1, 7) g;
            """
        )
    return url


def drop_postgres_db(url: str) -> None:
    """Drop a scratch PostgreSQL database."""
    name = parse_postgres_url(url).database
    postgres_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_db():
    """Create a scratch PostgreSQL database with data; drop it afterwards."""
    url = make_postgres_db()
    yield url
    drop_postgres_db(url)


def make_mysql_db() -> str:
    """Create a scratch MariaDB/MySQL database with data in two tables; return its URL."""
    if not _mysql_available():
        pytest.skip(f"MySQL/MariaDB is not reachable at {MYSQL_ADMIN}")
    name = f"kw_engine_{secrets.token_hex(4)}"
    mysql_execute(MYSQL_ADMIN, f"CREATE DATABASE `{name}`")
    url = mysql_url_for(name)
    mysql_execute(
        url,
        """
        CREATE TABLE customer (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, KEY name_idx (name));
        CREATE TABLE `order items` (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT, note TEXT);
        INSERT INTO customer (name) VALUES ('a'), ('b'), ('c'), ('d\\ttab'), ('e''quote');
        INSERT INTO `order items` (customer_id, note) VALUES (1, 'first'), (2, 'line\\nbreak');
        """,
    )
    return url


def drop_mysql_db(url: str) -> None:
    """Drop a scratch MySQL database."""
    mysql_execute(MYSQL_ADMIN, f"DROP DATABASE IF EXISTS `{parse_mysql_url(url).database}`")


@pytest.fixture
def mysql_db():
    """Create a scratch MariaDB/MySQL database with data; drop it afterwards."""
    url = make_mysql_db()
    yield url
    drop_mysql_db(url)


def scratch_databases_left(prefix: str = "keepwell_drill_") -> list[str]:
    """Return the drill scratch databases still present on either server."""
    left = []
    if _postgres_available():
        rows = postgres_admin_execute(f"SELECT datname FROM pg_database WHERE datname LIKE '{prefix}%'")
        left += [row[0] for row in rows or []]
    if _mysql_available():
        left += [row[0] for row in mysql_execute(MYSQL_ADMIN, "SHOW DATABASES") if row[0].startswith(prefix)]
    return left
