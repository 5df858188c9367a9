"""Running plans in the hub against real restic repositories: backups, drills, restores, checks, the mutex."""
# ruff: noqa: F811  (the fixtures imported from backup_app_helpers are redefined as test arguments)

from datetime import timedelta

import pytest
from backup_app_helpers import (  # noqa: F401  fixtures
    data_tree,
    hold_a_stale_lock,
    make_plan,
    plan,
    repo_path,
    restic_cache,
    sqlite_file,
    template_repository,
)
from django.utils import timezone

from keepwell.backups import engine, jobs
from keepwell.backups.models import Repository, Run, StorageSample
from keepwell.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _run(plan, kind, **kwargs):
    run = jobs.create_run(plan, kind, trigger=Run.Trigger.CLI, **kwargs)
    return jobs.execute(run)


def test_a_plans_life_backup_drill_restore_backup_again_forget_check(plan, tmp_path):
    """One repository through the whole cycle (restic costs seconds a command, so the steps share it)."""
    plan.retention = {"keep_last": 1}
    plan.save()

    backup = _run(plan, Run.Kind.BACKUP)
    assert backup.state == Run.State.SUCCEEDED, backup.error_message
    assert len(backup.snapshots) == 1 and backup.manifest and backup.bytes_added > 0
    ids = {s["id"] for s in engine.list_snapshots(plan.repository.spec(), tags=[plan.tag])}
    assert {s["id"] for s in backup.snapshots} == ids
    assert StorageSample.objects.filter(repository=plan.repository).count() == 1
    assert Repository.objects.get(pk=plan.repository_id).lease_holder == ""  # the lease is given back

    drill = _run(plan, Run.Kind.DRILL)
    assert drill.state == Run.State.SUCCEEDED, drill.error_message
    assert drill.source_run_id == backup.pk
    assert drill.evidence and all(e["ok"] for e in drill.evidence)
    assert drill.duration is not None and drill.duration > 0

    target = tmp_path / "restored"
    restore = _run(plan, Run.Kind.RESTORE, target={"kind": "path", "path": str(target)})
    assert restore.state == Run.State.SUCCEEDED, restore.error_message
    restored = list(target.rglob("readme.txt"))
    assert restored and restored[0].read_text() == "the service's data\n"

    second = _run(plan, Run.Kind.BACKUP)
    forget = _run(plan, Run.Kind.FORGET)
    assert forget.state == Run.State.SUCCEEDED, forget.error_message
    assert len(forget.details["removed"]) == 1
    left = engine.list_snapshots(plan.repository.spec(), tags=[plan.tag])
    assert [s["id"] for s in left] == [second.snapshots[0]["id"]]

    check = _run(plan, Run.Kind.CHECK)
    assert check.state == Run.State.SUCCEEDED, check.error_message

    plan.refresh_from_db()
    assert plan.last_good_backup_at >= second.started
    assert plan.last_verified_restore_at is not None


def test_a_sqlite_database_is_backed_up_and_its_drill_checks_the_rows(service, repo_path, sqlite_file):
    plan = make_plan(service, repo_path, [{"kind": "sqlite", "path": str(sqlite_file)}])
    assert _run(plan, Run.Kind.BACKUP).state == Run.State.SUCCEEDED

    drill = _run(plan, Run.Kind.DRILL)

    assert drill.state == Run.State.SUCCEEDED, drill.error_message
    assert all(e["ok"] for e in drill.evidence)
    assert any("integrity" in str(e).lower() for e in drill.evidence)


def test_a_drill_without_any_backup_fails_with_a_clear_message(plan):
    drill = _run(plan, Run.Kind.DRILL)

    assert drill.state == Run.State.FAILED
    assert drill.error_kind == "no-backup"
    assert "run a backup first" in drill.error_message


def test_a_wrong_password_fails_the_run_with_its_kind(plan):
    repo = plan.repository
    repo.password = "not the password"
    repo.initialized = True
    repo.save()

    run = _run(plan, Run.Kind.BACKUP)

    assert run.state == Run.State.FAILED
    assert run.error_kind == "wrong-password"
    assert "password" in run.error_message.lower()


def test_a_missing_restic_fails_the_run_with_its_kind(plan, settings):
    settings.BACKUP_RESTIC = "/nonexistent/restic"

    run = _run(plan, Run.Kind.BACKUP)

    assert run.state == Run.State.FAILED
    assert run.error_kind == "missing-restic"


def test_a_job_finds_the_repository_busy_and_leaves_the_run_queued(plan):
    repo = plan.repository
    assert repo.acquire("someone-else")
    run = jobs.create_run(plan, Run.Kind.BACKUP, trigger=Run.Trigger.API)

    with pytest.raises(jobs.RepositoryBusy, match="Another job is using the repository"):
        jobs.execute(run, wait=0)

    run.refresh_from_db()
    assert run.state == Run.State.QUEUED and run.started is None
    repo.release("someone-else")
    assert repo.acquire(jobs.holder_of(run))


def test_the_lease_is_exclusive_until_released_or_expired(plan):
    repo = plan.repository
    assert repo.acquire("run:1")
    assert not repo.acquire("run:2")
    assert repo.acquire("run:1")  # its holder may take it again
    assert not repo.renew("run:2")
    repo.release("run:2")  # not its lease: nothing happens
    assert not repo.acquire("run:2")
    Repository.objects.filter(pk=repo.pk).update(lease_expires=timezone.now() - timedelta(seconds=1))
    assert repo.acquire("run:2")  # an expired lease is free


def test_the_queue_job_tries_a_busy_repository_again_later(plan):
    from keepwell.backups.tasks import run_job

    assert plan.repository.acquire("someone-else")
    run = jobs.create_run(plan, Run.Kind.BACKUP, trigger=Run.Trigger.API)

    result = run_job.call_local(run.pk)

    assert result == "busy"
    run.refresh_from_db()
    assert run.state == Run.State.QUEUED


def test_a_run_that_is_not_queued_is_not_run_again(plan):
    run = jobs.create_run(plan, Run.Kind.BACKUP, trigger=Run.Trigger.API)
    Run.objects.filter(pk=run.pk).update(state=Run.State.SUCCEEDED, snapshots=[{"id": "x"}])

    again = jobs.execute(run)

    assert again.state == Run.State.SUCCEEDED and again.snapshots == [{"id": "x"}]
    assert again.started is None  # nothing ran


def test_a_run_whose_worker_died_is_failed_by_the_tick(plan):
    run = jobs.create_run(plan, Run.Kind.BACKUP, trigger=Run.Trigger.SCHEDULE)
    Run.objects.filter(pk=run.pk).update(state=Run.State.RUNNING, started=timezone.now())

    assert jobs.recover(timezone.now()) == 1

    run.refresh_from_db()
    assert run.state == Run.State.FAILED and run.error_kind == "interrupted"


def test_a_running_run_that_holds_its_lease_is_left_alone(plan):
    run = jobs.create_run(plan, Run.Kind.BACKUP, trigger=Run.Trigger.SCHEDULE)
    Run.objects.filter(pk=run.pk).update(state=Run.State.RUNNING, started=timezone.now())
    assert plan.repository.acquire(jobs.holder_of(run))

    assert jobs.recover(timezone.now()) == 0


def test_the_stale_lock_of_a_killed_restic_is_removed_before_the_next_run_and_logged(plan, repo_path):
    hold_a_stale_lock(repo_path)
    repo = plan.repository
    repo.stale_lock_minutes = 0
    repo.initialized = True
    repo.save()

    run = _run(plan, Run.Kind.CHECK)

    assert run.state == Run.State.SUCCEEDED, run.error_message
    assert "Removed a stale restic lock" in run.output
    event = AuditEvent.objects.get(action="backups.stale_lock_removed")
    assert event.organization_id == plan.organization_id and event.changes["run"] == run.pk


def test_the_tick_queues_a_due_backup_once_and_the_queue_runs_it(plan, django_capture_on_commit_callbacks):
    now = timezone.now()
    assert jobs.tick(now) == []  # the first tick only learns when each job is due
    plan.refresh_from_db()
    due = plan.next_backup_at
    assert due > now and due.hour == 3 and due.minute == 0

    with django_capture_on_commit_callbacks(execute=True):
        queued = jobs.tick(due)
        again = jobs.tick(due)  # a second tick at the same moment queues nothing

    assert [r.kind for r in queued] == ["backup"] and again == []
    run = Run.objects.get()
    assert run.trigger == "schedule" and run.state == Run.State.SUCCEEDED, run.error_message
    plan.refresh_from_db()
    assert plan.next_backup_at > due


def test_scheduled_drills_wait_for_a_first_backup(plan):
    plan.drill_schedule = "* * * * *"
    plan.save()
    now = timezone.now()
    jobs.tick(now)

    queued = jobs.tick(now + timedelta(minutes=2))

    assert [r.kind for r in queued] == []


POSTGRES_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def postgres_source():
    """A real PostgreSQL database with a table and rows, dropped afterwards; skipped without a server."""
    import secrets

    psycopg = pytest.importorskip("psycopg")
    name = f"kw_app_src_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN.replace("postgres://", "postgresql://"), autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server at {POSTGRES_ADMIN}: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as db:
        db.execute("CREATE TABLE invoice (id serial PRIMARY KEY, total numeric NOT NULL)")
        db.execute("INSERT INTO invoice (total) SELECT g * 1.5 FROM generate_series(1, 200) g")
    try:
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_a_postgres_plan_is_dumped_and_drilled_in_the_configured_scratch_server(
    service, repo_path, postgres_source, settings
):
    plan = make_plan(service, repo_path, [{"kind": "postgres", "url": postgres_source}])
    assert _run(plan, Run.Kind.BACKUP).state == Run.State.SUCCEEDED

    without = _run(plan, Run.Kind.DRILL)
    settings.BACKUP_SCRATCH_POSTGRES = POSTGRES_ADMIN
    drill = _run(plan, Run.Kind.DRILL)

    assert without.state == Run.State.FAILED and "scratch" in without.error_message.lower()
    assert drill.state == Run.State.SUCCEEDED, drill.error_message
    assert any("row counts" in e["check"] and e["ok"] for e in drill.evidence)


def test_a_repository_is_never_created_in_a_folder_full_of_other_things(service, data_tree, tmp_path):
    plan = make_plan(service, tmp_path / "empty-so-far", [{"kind": "path", "paths": [str(data_tree)]}])
    plan.repository.location = str(data_tree)  # a typo: the data folder itself
    plan.repository.save()

    run = _run(plan, Run.Kind.BACKUP)

    assert run.state == Run.State.FAILED and run.error_kind == "no-repository"
    assert "not a restic repository" in run.error_message
    assert not (data_tree / "config").exists()
