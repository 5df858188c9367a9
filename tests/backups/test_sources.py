"""Sources: validation, and each kind backed up into real restic and restored again."""

import os
import sqlite3

import pytest
from test_restic_support import (
    AWKWARD_TABLE,
    make_sqlite,
    make_tree,
    mysql_execute,
    postgres_admin_execute,
    postgres_url_for,
)

from keepwell.backups import engine
from keepwell.backups.backup import _Reporter, stream_dump
from keepwell.backups.manifest import mysql_inspect, postgres_connect, postgres_inspect, sqlite_inspect
from keepwell.backups.restic import BackupError
from keepwell.backups.sources import parse_mysql_url, parse_postgres_url, stdin_filename

pytest_plugins = ("test_restic_support",)


def test_valid_sources_come_back_normalized():
    sources = engine.validate_sources(
        [
            {"kind": "path", "paths": ["/srv/app/", "/etc//app"], "exclude": ["*.log"]},
            {"kind": "path", "paths": ["/srv/other"]},
            {"kind": "sqlite", "path": "/srv/app/db.sqlite3"},
            {"kind": "postgres", "url": "postgres://app:secret@db.example.com:5433/shop"},
            {"kind": "mysql", "url": "mysql://app@db.example.com/shop"},
        ]
    )
    assert sources[0] == {"kind": "path", "paths": ["/srv/app", "/etc/app"], "exclude": ["*.log"]}
    assert sources[1]["exclude"] == []
    assert sources[3]["url"] == "postgres://app:secret@db.example.com:5433/shop"


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (None, "sources must be a non-empty list"),
        ([], "sources must be a non-empty list"),
        ({"kind": "path"}, "sources must be a non-empty list"),
        ([{"kind": "path", "paths": ["/a"]}] * 51, "at most 50"),
        (["/srv"], r"sources\[0\] must be an object"),
        ([{"kind": "ftp"}], r"sources\[0\].kind must be one of path, sqlite, postgres, mysql"),
        ([{"paths": ["/a"]}], r"sources\[0\].kind must be one of"),
        ([{"kind": "path", "paths": ["/a"], "script": "rm"}], r"unknown field 'script'"),
        ([{"kind": "path"}], r"sources\[0\].paths is required"),
        ([{"kind": "path", "paths": []}], r"sources\[0\].paths must be a non-empty list"),
        ([{"kind": "path", "paths": "/srv"}], r"sources\[0\].paths must be a non-empty list"),
        ([{"kind": "path", "paths": ["srv/app"]}], r"sources\[0\].paths\[0\] must be an absolute path"),
        ([{"kind": "path", "paths": [7]}], r"sources\[0\].paths\[0\] must be a non-empty string"),
        ([{"kind": "path", "paths": ["/a\x00b"]}], "must not contain NUL"),
        ([{"kind": "path", "paths": ["/a\nb"]}], "line breaks"),
        ([{"kind": "path", "paths": ["/" + "a" * 5000]}], "at most 4096"),
        ([{"kind": "path", "paths": ["/a"] * 201}], "at most 200"),
        ([{"kind": "path", "paths": ["/a"], "exclude": "*.log"}], r"sources\[0\].exclude must be a list"),
        ([{"kind": "path", "paths": ["/a"], "exclude": [""]}], r"sources\[0\].exclude\[0\]"),
        ([{"kind": "sqlite", "path": "db.sqlite3"}], r"sources\[0\].path must be an absolute path"),
        ([{"kind": "postgres", "url": "mysql://x/db"}], r"sources\[0\].url must start with postgres://"),
        ([{"kind": "postgres", "url": "postgres://db.example.com"}], "must name one database"),
        ([{"kind": "postgres", "url": "postgres://db.example.com/a/b"}], "must name one database"),
        ([{"kind": "postgres", "url": "postgres://db.example.com:99999/a"}], "invalid port"),
        ([{"kind": "mysql", "url": "http://db.example.com/a"}], r"sources\[0\].url must start with mysql://"),
        ([{"kind": "mysql", "url": ""}], r"sources\[0\].url must be a non-empty string"),
        ([{"kind": "path", "paths": ["/a"]}, {"kind": "sqlite"}], r"sources\[1\].path is required"),
    ],
)
def test_bad_sources_are_refused_with_the_field_named(sources, message):
    with pytest.raises(ValueError, match=message):
        engine.validate_sources(sources)


def test_database_urls_keep_their_password_out_of_descriptions():
    db = parse_postgres_url("postgresql://app:s%40cret@db.example.com:5433/shop?sslmode=require")
    assert (db.user, db.password, db.host, db.port, db.database) == (
        "app",
        "s@cret",
        "db.example.com",
        5433,
        "shop",
    )
    assert db.options == {"sslmode": "require"}
    assert "cret" not in db.redacted()
    assert parse_mysql_url("mariadb://root@localhost/app").scheme == "mariadb"


def test_database_snapshots_have_stable_names_whatever_the_url_holds():
    assert stdin_filename({"kind": "sqlite", "path": "/srv/a b/app.sqlite3"}) == "sqlite/app.sqlite3"
    name = stdin_filename({"kind": "postgres", "url": "postgres://u:p@db.example.com/shop"})
    assert name == "postgres/db.example.com/shop.dump"
    assert stdin_filename({"kind": "mysql", "url": "mysql://u@h/.."}) == "mysql/h/db.sql"
    assert stdin_filename({"kind": "mysql", "url": "mysql://u@h/a%20b;c"}) == "mysql/h/a_b_c.sql"
    with pytest.raises(ValueError, match="must name one database"):
        stdin_filename({"kind": "mysql", "url": "mysql://u@h/..%2F..%2Fetc"})


def test_a_path_source_is_backed_up_with_its_excludes(repo, tmp_path):
    tree = make_tree(tmp_path / "app", files=12)
    (tree / "debug.log").write_text("noise")
    result = engine.run_backup(
        repo, [{"kind": "path", "paths": [str(tree)], "exclude": ["*.log"]}], tags=["p1"]
    )
    entry = result.manifest["sources"][0]
    assert entry["files"] == 13  # 12 files and top.txt, without debug.log
    assert entry["bytes"] == sum(
        p.stat().st_size for p in tree.rglob("*") if p.is_file() and p.suffix != ".log"
    )
    assert len(entry["samples"]) == 13
    assert result.snapshots[0]["id"].startswith(result.snapshots[0]["short_id"])
    assert result.manifest["tools"]["restic"] == engine.restic_info().version


def test_a_missing_path_is_a_source_error(repo, tmp_path):
    with pytest.raises(BackupError) as caught:
        engine.run_backup(repo, [{"kind": "path", "paths": [str(tmp_path / "gone")]}], tags=[])
    assert caught.value.kind == "source"
    assert str(tmp_path / "gone") in caught.value.message


def test_a_live_sqlite_database_is_copied_through_the_online_backup_api(repo, tmp_path):
    """Rows still only in the write-ahead log are in the backup: a raw copy of the file would miss them."""
    path = tmp_path / "live.sqlite3"
    make_sqlite(path, rows=50)
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.executemany("INSERT INTO customer(name) VALUES (?)", [(f"wal{i}",) for i in range(25)])
    writer.commit()
    assert os.path.getsize(str(path) + "-wal") > 0
    result = engine.run_backup(repo, [{"kind": "sqlite", "path": str(path)}], tags=[])
    writer.close()
    entry = result.manifest["sources"][0]
    assert entry["tables"] == {"customer": 75, AWKWARD_TABLE: 25}
    assert entry["file"] == "/sqlite/live.sqlite3"
    restored = tmp_path / "restored.sqlite3"
    engine.restore(
        repo,
        result.snapshots,
        [{"kind": "sqlite", "path": str(path)}],
        {"kind": "sqlite", "path": str(restored)},
    )
    assert sqlite_inspect(str(restored)) == {k: entry[k] for k in ("tables", "schema_hash", "server_version")}


@pytest.mark.parametrize("content", [b"", b"this is not a database" * 100])
def test_a_sqlite_source_that_is_not_a_database_is_a_source_error(repo, tmp_path, content):
    path = tmp_path / "fake.sqlite3"
    path.write_bytes(content)
    if not content:
        path.unlink()
    with pytest.raises(BackupError) as caught:
        engine.run_backup(repo, [{"kind": "sqlite", "path": str(path)}], tags=[])
    assert caught.value.kind == "source"
    assert str(path) in caught.value.message
    assert engine.list_snapshots(repo) == []


def test_a_sqlite_restore_never_overwrites_by_accident(repo, tmp_path):
    path = make_sqlite(tmp_path / "app.sqlite3")
    sources = [{"kind": "sqlite", "path": str(path)}]
    result = engine.run_backup(repo, sources, tags=[])
    with pytest.raises(BackupError, match="exists"):
        engine.restore(repo, result.snapshots, sources, {"kind": "sqlite", "path": str(path)})
    engine.restore(repo, result.snapshots, sources, {"kind": "sqlite", "path": str(path), "overwrite": True})
    assert sqlite_inspect(str(path))["tables"]["customer"] == 100


def test_a_postgres_dump_streams_into_restic_and_restores(repo, postgres_db):
    sources = [{"kind": "postgres", "url": postgres_db}]
    progress = []
    result = engine.run_backup(repo, sources, tags=["pg"], progress=lambda f, m: progress.append((f, m)))
    entry = result.manifest["sources"][0]
    assert entry["tables"] == {"customer": 300, "Order Items": 120, "billing.invoice": 7}
    assert entry["format"] == "pg_dump custom"
    assert entry["bytes"] > 0
    assert "pg_dump" in result.manifest["tools"]
    assert "secret" not in str(result.manifest)
    assert progress[0][0] == 0.0 and progress[-1][0] == 1.0
    target = postgres_db.rsplit("/", 1)[1] + "_restored"
    postgres_admin_execute(f'CREATE DATABASE "{target}"')
    try:
        engine.restore(repo, result.snapshots, sources, {"kind": "postgres", "url": postgres_url_for(target)})
        with postgres_connect(parse_postgres_url(postgres_url_for(target))) as connection:
            restored = postgres_inspect(connection)
        assert restored["tables"] == entry["tables"]
        assert restored["schema_hash"] == entry["schema_hash"]
    finally:
        postgres_admin_execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


def test_an_unreachable_postgres_database_is_a_source_error(repo):
    sources = [{"kind": "postgres", "url": "postgres://postgres@127.0.0.1:1/nothing"}]
    with pytest.raises(BackupError) as caught:
        engine.run_backup(repo, sources, tags=[])
    assert caught.value.kind == "source"
    assert "Could not connect to PostgreSQL postgres://postgres@127.0.0.1:1/nothing" in caught.value.message


def test_a_dump_that_fails_midway_leaves_no_snapshot_behind(repo):
    """restic stores whatever arrived; when the dump tool then fails, that snapshot is forgotten."""
    reporter = _Reporter(None, 1)
    argv = [
        "/bin/sh",
        "-c",
        "head -c 300000 /dev/urandom; echo 'pg_dump: error: connection lost' >&2; exit 1",
    ]
    with pytest.raises(BackupError) as caught:
        stream_dump(repo, argv, {}, "postgres/h/db.dump", [], reporter, "PostgreSQL test")
    assert caught.value.kind == "source"
    assert "connection lost" in caught.value.message
    assert "exit 1" in caught.value.message
    assert engine.list_snapshots(repo) == []


def test_a_mysql_dump_streams_into_restic_and_restores(repo, mysql_db):
    sources = [{"kind": "mysql", "url": mysql_db}]
    result = engine.run_backup(repo, sources, tags=["my"])
    entry = result.manifest["sources"][0]
    assert entry["tables"] == {"customer": 5, "order items": 2}
    mysql_execute(mysql_db, "DELETE FROM customer; DROP TABLE `order items`")
    engine.restore(repo, result.snapshots, sources, {"kind": "mysql", "url": mysql_db})
    restored = mysql_inspect(parse_mysql_url(mysql_db))
    assert restored["tables"] == entry["tables"]
    assert restored["schema_hash"] == entry["schema_hash"]
    assert mysql_execute(mysql_db, "SELECT name FROM customer WHERE id = 5") == [["e'quote"]]


def test_a_mysql_password_never_reaches_a_command_line(mysql_db, tmp_path):
    """The client tools read the password from a private option file."""
    from keepwell.backups.sources import MySQLDefaults

    db = parse_mysql_url("mysql://someone:pa%22ss%5Cword@127.0.0.1:3306/x")
    with MySQLDefaults(db) as path:
        assert oct(os.stat(path).st_mode & 0o777) == "0o600"
        text = open(path).read()
    assert 'password="pa\\"ss\\\\word"' in text
    assert not os.path.exists(path)


def test_a_path_restore_refuses_a_directory_that_is_not_empty(repo, tmp_path):
    tree = make_tree(tmp_path / "app", files=3)
    sources = [{"kind": "path", "paths": [str(tree)]}]
    result = engine.run_backup(repo, sources, tags=[])
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(BackupError, match="not empty"):
        engine.restore(repo, result.snapshots, sources, {"kind": "path", "path": str(target)})
    fresh = tmp_path / "fresh"
    progress = []
    engine.restore(
        repo,
        result.snapshots,
        sources,
        {"kind": "path", "path": str(fresh)},
        progress=lambda f, m: progress.append(m),
    )
    restored = fresh / str(tree).lstrip("/") / "sub" / "file-2.txt"
    assert restored.read_bytes() == (tree / "sub" / "file-2.txt").read_bytes()
    assert progress[-1].startswith("restored 1 snapshot")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (None, "target.kind must be one of"),
        ({"kind": "s3"}, "target.kind must be one of"),
        ({"kind": "path", "path": "relative"}, "target.path must be an absolute path"),
        ({"kind": "sqlite"}, "target.path must be an absolute path"),
        ({"kind": "postgres", "url": "mysql://x/y"}, "target.url must start with postgres://"),
        ({"kind": "path", "path": "/tmp/x", "source": -1}, "target.source must be the index"),
        ({"kind": "path", "path": "/tmp/x", "source": True}, "target.source must be the index"),
    ],
)
def test_bad_restore_targets_are_refused(target, message):
    with pytest.raises(ValueError, match=message):
        engine.restore(engine.RepoSpec("/nowhere", "x"), [], [{"kind": "path", "paths": ["/a"]}], target)


def test_a_restore_into_a_database_of_another_kind_is_refused():
    sources = [{"kind": "sqlite", "path": "/srv/a.sqlite3"}]
    with pytest.raises(BackupError, match="has 0 postgres sources"):
        engine.restore(
            engine.RepoSpec("/nowhere", "x"), [], sources, {"kind": "postgres", "url": "postgres://h/d"}
        )


def test_the_dump_tools_exit_code_is_checked_even_when_restic_succeeds(repo, tmp_path):
    """A dump tool killed by a signal counts as failed."""
    reporter = _Reporter(None, 1)
    with pytest.raises(BackupError, match="exit -9"):
        stream_dump(
            repo, ["/bin/sh", "-c", "echo data; kill -9 $$"], {}, "mysql/h/db.sql", [], reporter, "MySQL test"
        )


def test_a_unix_socket_directory_can_be_given_as_the_host_option():
    db = parse_postgres_url("postgres:///shop?host=/run/postgresql")
    assert (db.host, db.database) == ("/run/postgresql", "shop")


@pytest.mark.parametrize(
    "snapshot_id", ["--target=/etc", "latest", "abc", "ABCDEF12", "0123456789abcdef" * 5]
)
def test_only_real_snapshot_ids_reach_restic(snapshot_id):
    from keepwell.backups.restoring import snapshot_for

    with pytest.raises(BackupError, match="is not a restic snapshot id"):
        snapshot_for([{"source": 0, "id": snapshot_id}], 0)


def test_a_restore_reports_progress_while_restic_works(repo, tmp_path, monkeypatch):
    from keepwell.backups import restoring

    monkeypatch.setattr(restoring, "POLL_SECONDS", 0.01)
    data = tmp_path / "data"
    data.mkdir()
    (data / "big.bin").write_bytes(os.urandom(24 << 20))
    sources = [{"kind": "path", "paths": [str(data)]}]
    result = engine.run_backup(repo, sources, tags=[])
    seen = []
    engine.restore(
        repo,
        result.snapshots,
        sources,
        {"kind": "path", "path": str(tmp_path / "out")},
        progress=lambda f, m: seen.append((f, m)),
    )
    middle = [fraction for fraction, _ in seen if fraction is not None and 0 < fraction < 1]
    assert middle, seen
    # The measure is the file system's growth: approximate when other programs write to it too.
    assert any(" of 24.0 MiB" in message for _, message in seen)
    assert seen[-1] == (1.0, f"restored 1 snapshot(s) to {tmp_path / 'out'}")
