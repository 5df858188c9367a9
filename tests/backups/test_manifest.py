"""Manifests: row counts, schema hashes and file samples that a drill can check a restore against."""

import hashlib
import os
import sqlite3
import time

import pytest
from test_restic_support import AWKWARD_TABLE, make_sqlite, make_tree, mysql_execute

from keepwell.backups import engine
from keepwell.backups.manifest import (
    FileSampler,
    _parse_time,
    checksum_if_unchanged,
    mysql_inspect,
    postgres_connect,
    postgres_inspect,
    schema_hash,
    sqlite_inspect,
    sqlite_integrity,
)
from keepwell.backups.sources import parse_mysql_url, parse_postgres_url

pytest_plugins = ("test_restic_support",)


def test_the_schema_hash_ignores_order_and_whitespace():
    rows = [("table", "a", "a", "CREATE TABLE a (id int)"), ("index", "i", "a", "CREATE INDEX i ON a(id)")]
    reformatted = [
        ("index", "i", "a", "CREATE  INDEX i\n ON a(id)"),
        ("table", "a", "a", "CREATE TABLE a (id int) "),
    ]
    assert schema_hash(rows) == schema_hash(reformatted)
    assert schema_hash(rows).startswith("sha256:")


def test_the_schema_hash_changes_with_the_schema():
    rows = [("table", "a", "a", "CREATE TABLE a (id int)")]
    assert schema_hash(rows) != schema_hash([("table", "a", "a", "CREATE TABLE a (id bigint)")])
    assert schema_hash(rows) != schema_hash(rows + [("index", "i", "a", "CREATE INDEX i ON a(id)")])


def test_sqlite_inspection_counts_every_table_whatever_its_name(tmp_path):
    path = make_sqlite(tmp_path / "app.sqlite3", rows=40)
    inspected = sqlite_inspect(str(path))
    assert inspected["tables"] == {"customer": 40, AWKWARD_TABLE: 20}
    assert inspected["server_version"].startswith("SQLite 3.")


def test_a_sqlite_schema_change_changes_its_hash(tmp_path):
    path = make_sqlite(tmp_path / "app.sqlite3")
    before = sqlite_inspect(str(path))["schema_hash"]
    connection = sqlite3.connect(path)
    connection.execute("ALTER TABLE customer ADD COLUMN email TEXT")
    connection.commit()
    connection.close()
    assert sqlite_inspect(str(path))["schema_hash"] != before


def test_integrity_check_finds_a_damaged_sqlite_file(tmp_path):
    path = make_sqlite(tmp_path / "app.sqlite3", rows=3000)
    assert sqlite_integrity(str(path)) == (True, "ok")
    with open(path, "r+b") as handle:
        handle.seek(4096 * 3)
        handle.write(b"\xff" * 4096)
    ok, detail = sqlite_integrity(str(path))
    assert not ok
    assert detail and detail != "ok"


def test_postgres_inspection_sees_every_schema_and_quoted_names(postgres_db):
    with postgres_connect(parse_postgres_url(postgres_db)) as connection:
        inspected = postgres_inspect(connection)
        assert inspected["tables"] == {"customer": 300, "Order Items": 120, "billing.invoice": 7}
        connection.execute("ALTER TABLE customer ADD COLUMN email text")
        assert postgres_inspect(connection)["schema_hash"] != inspected["schema_hash"]


def test_mysql_inspection_counts_tables_with_awkward_names(mysql_db):
    inspected = mysql_inspect(parse_mysql_url(mysql_db))
    assert inspected["tables"] == {"customer": 5, "order items": 2}
    mysql_execute(mysql_db, "ALTER TABLE customer ADD COLUMN email VARCHAR(50)")
    assert mysql_inspect(parse_mysql_url(mysql_db))["schema_hash"] != inspected["schema_hash"]


def test_mysql_tables_with_tabs_newlines_and_backslashes_in_their_names_are_counted(mysql_db):
    awkward = "we\tird\nna\\me"
    quoted = "`" + awkward + "`"
    mysql_execute(mysql_db, f"CREATE TABLE {quoted} (id INT); INSERT INTO {quoted} VALUES (1), (2), (3)")
    assert mysql_inspect(parse_mysql_url(mysql_db))["tables"][awkward] == 3


def test_mysql_inspection_of_a_missing_database_says_so():
    with pytest.raises(RuntimeError, match="Unknown database"):
        mysql_inspect(parse_mysql_url("mysql://root@127.0.0.1:3306/kw_engine_does_not_exist"))


def test_the_files_manifest_counts_what_restic_stored_and_samples_it(repo, tmp_path):
    tree = make_tree(tmp_path / "app", files=40)
    os.symlink(tree / "top.txt", tree / "link.txt")
    (tree / "empty.txt").write_bytes(b"")
    (tree / "big.bin").write_bytes(os.urandom(9 << 20))  # above the per-file sample limit
    result = engine.run_backup(repo, [{"kind": "path", "paths": [str(tree)]}], tags=[])
    entry = result.manifest["sources"][0]
    assert entry["files"] == 43  # 40 + top.txt + empty.txt + big.bin; the symlink is not a file
    assert entry["bytes"] == sum(
        p.stat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink()
    )
    assert len(entry["samples"]) == 20
    for sample in entry["samples"]:
        assert sample["path"].startswith(str(tree))
        assert hashlib.sha256(open(sample["path"], "rb").read()).hexdigest() == sample["sha256"]
    assert not {"link.txt", "empty.txt", "big.bin"} & {os.path.basename(s["path"]) for s in entry["samples"]}
    assert entry["snapshot"] == result.snapshots[0]["id"] and len(entry["snapshot"]) == 64


def test_the_sample_is_the_same_for_the_same_tree(tmp_path):
    names = [{"message_type": "verbose_status", "item": f"/srv/f{i}"} for i in range(1000)]
    first, second = FileSampler(0, sample_files=5), FileSampler(0, sample_files=5)
    for message in names:
        first.item(message)
    for message in reversed(names):
        second.item(message)
    assert sorted(first.candidates)[:5] == sorted(second.candidates)[:5]
    assert len(first.candidates) <= 80


@pytest.mark.parametrize(
    "message",
    [
        {},
        {"message_type": "status", "item": "/a"},
        {"message_type": "verbose_status", "item": "/dir/"},
        {"message_type": "verbose_status", "item": 7},
    ],
)
def test_the_sampler_ignores_messages_that_name_no_file(message):
    sampler = FileSampler(0)
    sampler.item(message)
    assert sampler.candidates == []


def test_a_file_written_since_the_backup_started_is_not_sampled(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"one")
    started = time.time_ns() + 1
    assert checksum_if_unchanged(str(path), started)["sha256"] == hashlib.sha256(b"one").hexdigest()
    time.sleep(0.01)
    path.write_bytes(b"two!")
    assert checksum_if_unchanged(str(path), started) is None
    assert checksum_if_unchanged(str(tmp_path / "gone"), started) is None
    assert checksum_if_unchanged(str(tmp_path), time.time_ns()) is None  # a directory


@pytest.mark.parametrize(
    "value",
    [None, "", "yesterday", "2026-13-01T00:00:00Z", "2026-12-02T07:40:24.3Zjunk", 12345, "2026-12-02 07:40"],
)
def test_unreadable_times_parse_to_none(value):
    assert _parse_time(value) is None


def test_restic_times_keep_their_zone_and_microseconds():
    parsed = _parse_time("2026-12-02T07:40:24.380305217+01:00")
    assert parsed.isoformat() == "2026-12-02T07:40:24.380305+01:00"
