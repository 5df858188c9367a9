"""keepwell backs itself up: its database (consistently) and its data directory, keys included."""
# ruff: noqa: F811  (the fixtures imported from backup_app_helpers are redefined as test arguments)

from datetime import UTC, datetime, timedelta

import pytest
from backup_app_helpers import (  # noqa: F401  fixtures
    PASSWORD,
    make_sqlite,
    make_tree,
    repo_path,
    restic_cache,
    template_repository,
)
from django.core.cache import cache

from keepwell.backups import engine, selfbackup
from keepwell.cli import main


def test_the_sources_copy_sqlite_online_and_leave_the_live_file_out(tmp_path):
    db = tmp_path / "data" / "keepwell.sqlite3"

    sources = selfbackup.sources({"ENGINE": "django.db.backends.sqlite3", "NAME": db}, tmp_path / "data")

    assert sources[0] == {"kind": "sqlite", "path": str(db)}
    folder = sources[1]
    assert folder["kind"] == "path" and folder["paths"] == [str(tmp_path / "data")]
    assert {str(db), f"{db}-wal", str(tmp_path / "data" / "jobs.sqlite3")} <= set(folder["exclude"])
    engine.validate_sources(sources)


def test_the_sources_dump_postgresql_with_pg_dump(tmp_path):
    database = {"ENGINE": "django.db.backends.postgresql", "NAME": "keepwell", "USER": "kw", "PASSWORD": "p@ss",
                "HOST": "db.internal", "PORT": 5432}  # fmt: skip

    sources = selfbackup.sources(database, tmp_path, database_url="")

    assert sources[0] == {"kind": "postgres", "url": "postgres://kw:p%40ss@db.internal:5432/keepwell"}


@pytest.mark.django_db
def test_a_self_backup_holds_the_database_and_the_keys(tmp_path, repo_path, settings):
    data = make_tree(tmp_path / "data", files=3)
    (data / "encryption_key").write_text("a key\n")
    db = make_sqlite(data / "keepwell.sqlite3")
    what = selfbackup.sources({"ENGINE": "django.db.backends.sqlite3", "NAME": db}, data)
    settings.DATA_DIR = data

    result = selfbackup.run(str(repo_path), PASSWORD, what=what)

    assert result["ok"] and len(result["snapshots"]) == 2
    spec = engine.RepoSpec(location=str(repo_path), password=PASSWORD)
    assert len(engine.list_snapshots(spec, tags=[selfbackup.TAG])) == 2
    restored = tmp_path / "restored"
    engine.restore(spec, result["snapshots"], what, {"kind": "path", "path": str(restored)})
    assert [p.read_text() for p in restored.rglob("encryption_key")] == ["a key\n"]
    assert selfbackup.last()["ok"] is True


@pytest.mark.django_db
def test_a_failed_self_backup_is_reported_and_remembered(tmp_path, repo_path, settings, capsys):
    settings.DATA_DIR = tmp_path
    password_file = tmp_path / "password"
    password_file.write_text("not the password\n")
    settings.SELF_BACKUP_REPOSITORY = str(repo_path)

    code = main(["backup-self", "--password-file", str(password_file)])

    assert code == 1
    assert "[wrong-password]" in capsys.readouterr().err
    assert selfbackup.last()["ok"] is False


@pytest.mark.django_db
def test_the_tick_queues_the_self_backup_on_its_schedule(settings, tmp_path, monkeypatch):
    settings.SELF_BACKUP_REPOSITORY = str(tmp_path / "repo")
    settings.SELF_BACKUP_SCHEDULE = "0 2 * * *"
    cache.delete(selfbackup.NEXT_KEY)
    queued = []
    from keepwell.backups import tasks

    monkeypatch.setattr(tasks, "self_backup_job", lambda: queued.append(1))
    now = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)

    assert not selfbackup.tick(now)  # the first tick only learns when it is due
    assert not selfbackup.tick(now + timedelta(minutes=59))
    assert selfbackup.tick(now + timedelta(hours=1))
    assert not selfbackup.tick(now + timedelta(hours=1, minutes=1))
    assert queued == [1]


def test_the_tick_does_nothing_without_a_repository(settings):
    settings.SELF_BACKUP_REPOSITORY = ""
    assert selfbackup.tick() is False
