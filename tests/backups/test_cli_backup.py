"""`keepwell backup run|drill|restore|check|forget|list` and `keepwell backup-self`, end to end in process."""
# ruff: noqa: F811  (the fixtures imported from backup_app_helpers are redefined as test arguments)

import json
import sqlite3

import pytest
from backup_app_helpers import (  # noqa: F401  fixtures
    PASSWORD,
    data_tree,
    make_plan,
    plan,
    repo_path,
    restic_cache,
    sqlite_file,
    template_repository,
)

from keepwell.backups.models import Run
from keepwell.cli import main

pytestmark = pytest.mark.django_db(transaction=False)


def test_run_drill_restore_and_list_a_plan(plan, tmp_path, capsys):
    assert main(["backup", "run", str(plan.pk)]) == 0
    out = capsys.readouterr().out
    backup = Run.objects.get(kind="backup")
    assert f"Backup #{backup.pk} of Shop data succeeded" in out
    assert backup.snapshot_ids[0] in out and backup.trigger == "cli"

    assert main(["backup", "drill", str(plan.pk)]) == 0
    out = capsys.readouterr().out
    assert "restore took" in out and "FAIL" not in out

    target = tmp_path / "restored"
    assert main(["backup", "restore", str(plan.pk), "--target", str(target)]) == 0
    assert "restored snapshot(s)" in capsys.readouterr().out
    assert list(target.rglob("readme.txt"))

    assert main(["backup", "list"]) == 0
    out = capsys.readouterr().out
    assert "Shop data" in out and "shop-api" in out

    assert main(["backup", "list", str(plan.pk), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["kind"] for r in listed["runs"]] == ["restore", "drill", "backup"]
    assert all(r["state"] == "succeeded" for r in listed["runs"])


def test_restore_a_sqlite_backup_into_a_new_database_file(service, repo_path, sqlite_file, tmp_path, capsys):
    plan = make_plan(service, repo_path, [{"kind": "sqlite", "path": str(sqlite_file)}])
    assert main(["backup", "run", str(plan.pk)]) == 0
    restored = tmp_path / "restored.sqlite3"

    code = main(["backup", "restore", str(plan.pk), "--database", f"sqlite:///{restored}"])

    assert code == 0, capsys.readouterr().err
    with sqlite3.connect(restored) as connection:
        assert connection.execute("SELECT count(*) FROM customer").fetchone() == (50,)


def test_a_failed_backup_exits_non_zero_with_the_reason(plan, capsys):
    repo = plan.repository
    repo.password, repo.initialized = "wrong", True
    repo.save()

    code = main(["backup", "run", str(plan.pk)])

    assert code == 1
    err = capsys.readouterr().err
    assert "Backup of plan" in err and "[wrong-password]" in err


def test_an_unknown_plan_exits_2(db, capsys):
    assert main(["backup", "run", "999999"]) == 2
    assert "There is no backup plan 999999" in capsys.readouterr().err


def test_a_drill_before_any_backup_says_to_back_up_first(plan, capsys):
    assert main(["backup", "drill", str(plan.pk)]) == 1
    assert f"keepwell backup run {plan.pk}" in capsys.readouterr().err
    assert not Run.objects.exists()


def test_restore_needs_a_target_or_a_database(plan, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["backup", "restore", str(plan.pk)])
    assert exc.value.code == 2
    assert "--target" in capsys.readouterr().err


def test_restore_refuses_a_folder_with_files_in_it(plan, data_tree, capsys):
    Run.objects.create(plan=plan, kind="backup", state="succeeded", snapshots=[{"id": "x"}])

    assert main(["backup", "restore", str(plan.pk), "--target", str(data_tree)]) == 2
    assert "not an empty folder" in capsys.readouterr().err


def test_a_busy_repository_makes_the_command_give_up_after_its_wait(plan, capsys):
    assert plan.repository.acquire("someone-else")

    code = main(["backup", "run", str(plan.pk), "--wait", "0"])

    assert code == 1
    assert "Another job is using the repository" in capsys.readouterr().err
    assert Run.objects.get().error_kind == "locked"


def test_list_says_so_when_there_are_no_plans(db, capsys):
    assert main(["backup", "list"]) == 0
    assert "No backup plans yet" in capsys.readouterr().out


def test_backup_self_without_a_repository_says_what_to_set(db, settings, capsys):
    settings.SELF_BACKUP_REPOSITORY = ""

    assert main(["backup-self"]) == 2
    assert "KEEPWELL_SELF_BACKUP_REPOSITORY" in capsys.readouterr().err


def test_backup_self_with_an_unreadable_password_file_says_so(db, settings, tmp_path, capsys):
    code = main(
        ["backup-self", "--repository", str(tmp_path / "r"), "--password-file", str(tmp_path / "nope")]
    )

    assert code == 2
    assert "cannot be read" in capsys.readouterr().err
