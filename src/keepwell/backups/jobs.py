"""Running a plan's jobs in the hub: one at a time per repository, recorded as runs, reported as findings.

A run is created `queued` (by the schedule tick, the web, the API or the CLI) and executed once: `execute`
claims it atomically, so a retried or duplicated job does nothing. The repository's lease (a row that
expires, renewed while the engine reports progress) keeps two jobs off one repository, on SQLite and
PostgreSQL alike; a job that finds it held waits (the CLI) or is tried again later (the queue).
"""

import logging
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from keepwell.core import audit, cron

from . import health, validation
from .models import Plan, Repository, Run, StorageSample

log = logging.getLogger("keepwell.backups")

RENEW_EVERY = 30.0  # seconds between lease renewals while a job reports progress
SHOW_EVERY = 2.0  # seconds between progress updates on the run's page
WAIT_STEP = 2.0  # seconds between attempts to take a busy repository's lease
SAMPLES_FOR_GROWTH = 30  # the newest storage samples growth_alert looks at
REQUEUE_AFTER = 3600  # seconds: a queued run this old is given to the queue again (its job was lost)

Progress = Callable[[float | None, str], None]
State, Kind = Run.State, Run.Kind


class RepositoryBusy(Exception):
    """Another job holds the repository's lease."""


def holder_of(run: Run) -> str:
    return f"run:{run.pk}"


# --- creating runs ------------------------------------------------------------------------------------
def latest_good_backup(plan: Plan) -> Run | None:
    """Return the plan's newest successful backup run (the one drills and restores use)."""
    return (
        plan.runs.filter(kind=Kind.BACKUP, state=State.SUCCEEDED)
        .exclude(snapshots=[])
        .order_by("-finished", "-id")
        .first()
    )


def create_run(plan: Plan, kind: str, *, trigger: str, user=None, target=None, source_run=None) -> Run:
    """Create a queued run of `kind` on `plan` (a drill or restore uses `source_run`, default the latest)."""
    if kind in (Kind.DRILL, Kind.RESTORE) and source_run is None:
        source_run = latest_good_backup(plan)
    return Run.objects.create(
        plan=plan,
        kind=kind,
        trigger=trigger,
        requested_by=user if getattr(user, "is_authenticated", False) else None,
        target=target or {},
        source_run=source_run,
    )


def enqueue(run: Run) -> Run:
    """Give the run to the job queue once the current transaction commits."""
    from .tasks import run_job

    transaction.on_commit(lambda: run_job(run.pk))
    return run


# --- executing runs -----------------------------------------------------------------------------------
def execute(run: Run, *, progress: Progress | None = None, wait: float = 0) -> Run:
    """Do a queued run now; raise RepositoryBusy if the repository stays held for `wait` seconds.

    Returns the run, finished (or as it was, when another process had already claimed it).
    """
    run.refresh_from_db()
    if run.state != State.QUEUED:
        return run
    plan = Plan.objects.select_related("repository", "service", "organization").get(pk=run.plan_id)
    repo = plan.repository
    holder = holder_of(run)
    deadline = time.monotonic() + wait
    while not repo.acquire(holder):
        if time.monotonic() >= deadline:
            raise RepositoryBusy(
                f"Another job is using the repository {repo.shown_location}; this {run.get_kind_display()} "
                "waits for it."
            )
        time.sleep(WAIT_STEP)
    try:
        claimed = Run.objects.filter(pk=run.pk, state=State.QUEUED).update(
            state=State.RUNNING, started=timezone.now()
        )
        run.refresh_from_db()
        if not claimed:
            return run
        try:
            _work(run, plan, repo, holder, progress)
            run.state = State.SUCCEEDED
        except Exception as exc:  # every failure is recorded on the run, never lost in a worker's log
            from .engine import BackupError

            run.state = State.FAILED
            if isinstance(exc, BackupError):
                run.error_kind, run.error_message = exc.kind, str(getattr(exc, "message", "") or exc)
            elif isinstance(exc, JobError):
                run.error_kind, run.error_message = exc.kind, str(exc)
            else:
                log.exception("backups: %s failed unexpectedly", run)
                run.error_kind = "failed"
                run.error_message = f"The job failed unexpectedly: {type(exc).__name__}: {exc}"
                run.log(traceback.format_exc(limit=5))
        run.finished = timezone.now()
        if run.duration is None and run.started:
            run.duration = (run.finished - run.started).total_seconds()
        run.save()
    finally:
        repo.release(holder)
    health.after_run(run)
    return run


class JobError(Exception):
    """A job cannot do its work for a reason the user can fix."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _progress(run: Run, repo: Repository, holder: str, progress: Progress | None) -> Progress:
    """Return a progress callback that renews the lease now and then and passes progress on."""
    last = [time.monotonic(), 0.0]

    def report(fraction: float | None, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= RENEW_EVERY:
            last[0] = now
            if not repo.renew(holder):
                log.warning("backups: %s lost its lease on %s", run, repo)
        if now - last[1] >= SHOW_EVERY:
            last[1] = now
            Run.objects.filter(pk=run.pk).update(
                progress=None if fraction is None else max(0.0, min(1.0, float(fraction))),
                progress_message=str(message or "")[:200],
            )
        if progress is not None:
            progress(fraction, message)

    return report


def _work(run: Run, plan: Plan, repo: Repository, holder: str, progress: Progress | None) -> None:
    from . import engine

    spec = repo.spec()
    report = _progress(run, repo, holder, progress)
    if run.kind == Kind.BACKUP and not repo.initialized:
        try:
            validation.check_new_repository(repo.location)
        except ValueError as exc:
            raise JobError("no-repository", str(exc)) from None
        created = engine.init_repository(spec)
        Repository.objects.filter(pk=repo.pk).update(initialized=True)
        repo.initialized = True
        run.log(f"Created the repository {repo.shown_location}." if created else "The repository exists.")
    removed = engine.remove_stale_locks(spec, older_than_minutes=repo.stale_lock_minutes)
    if removed:
        for lock in removed:
            run.log(f"Removed a stale restic lock: {_describe_lock(lock)}")
        audit.record(
            "backups.stale_lock_removed",
            repo,
            organization=plan.organization,
            changes={"locks": [_describe_lock(lock) for lock in removed], "run": run.pk},
            label="system",
        )
        log.warning("backups: removed %d stale lock(s) in %s before %s", len(removed), repo, run)
    if run.kind == Kind.BACKUP:
        _backup(run, plan, repo, spec, report)
    elif run.kind == Kind.FORGET:
        result = engine.forget_prune(spec, plan.retention or {}, tags=[plan.tag])
        run.details = result
        run.log(f"Kept {len(result.get('kept', []))} snapshots, removed {len(result.get('removed', []))}.")
    elif run.kind == Kind.CHECK:
        result = engine.check(spec, read_data_subset=plan.check_read_data_subset or None)
        run.log(result.output)
        run.details = {"errors": result.errors[:50], "read_data_subset": plan.check_read_data_subset}
        if not result.ok:
            first = "; ".join(result.errors[:3]) or "see the output"
            raise JobError("corrupt", f"restic check found problems in the repository: {first}")
    elif run.kind == Kind.DRILL:
        _drill(run, plan, spec, report)
    elif run.kind == Kind.RESTORE:
        _restore(run, spec, report)
    else:  # pragma: no cover - the model's choices
        raise JobError("failed", f"Unknown kind of job {run.kind!r}.")


def _describe_lock(lock: dict) -> str:
    if not isinstance(lock, dict):
        return str(lock)[:300]
    words = ", ".join(f"{k}={v}" for k, v in lock.items() if k != "raw")
    return words[:300]


def _backup(run, plan, repo, spec, report) -> None:
    from . import engine

    sources = list(plan.sources or [])
    run.sources = sources
    result = engine.run_backup(spec, sources, tags=[plan.tag], progress=report)
    run.snapshots = result.snapshots
    run.manifest = result.manifest
    run.duration = result.duration
    run.bytes_added = result.bytes_added
    run.total_size = result.total_bytes
    run.log(
        f"Backed up {len(result.snapshots)} source(s) in {result.duration:.1f} s; "
        f"added {result.bytes_added} bytes to the repository."
    )
    stored = None
    try:
        stats = engine.repo_stats(spec)
        stored = stats.get("raw_size") or stats.get("total_size")
        StorageSample.objects.create(
            repository=repo,
            total_size=int(stored or 0),
            bytes_added=result.bytes_added,
            snapshots=stats.get("snapshots"),
        )
    except engine.BackupError as exc:
        run.log(f"Could not measure the repository's size: {exc}")
    Plan.objects.filter(pk=plan.pk).update(last_good_backup_at=timezone.now())


def _source_run(run: Run) -> Run:
    source = run.source_run
    if source is None or source.state != State.SUCCEEDED or not source.snapshots:
        raise JobError(
            "no-backup",
            f"There is no successful backup of {run.plan.name} to restore from yet; run a backup first.",
        )
    return source


def _drill(run, plan, spec, report) -> None:
    from . import engine

    source = _source_run(run)
    command = plan.verify_command.strip() or None
    if command and not settings.BACKUP_ALLOW_COMMANDS:
        run.log("The verification command was skipped: KEEPWELL_BACKUP_ALLOW_COMMANDS is off on this hub.")
        command = None
    scratch = {
        kind: url
        for kind, url in (
            ("postgres", settings.BACKUP_SCRATCH_POSTGRES),
            ("mysql", settings.BACKUP_SCRATCH_MYSQL),
        )
        if url
    }
    result = engine.drill(
        spec,
        source.snapshots,
        list(source.sources or []),
        source.manifest or {},
        verify_command=command,
        scratch=scratch or None,
        progress=report,
    )
    run.evidence = list(result.evidence)
    run.duration = result.duration
    run.snapshots = source.snapshots
    passed = sum(1 for e in run.evidence if isinstance(e, dict) and e.get("ok"))
    run.log(f"Drill: {passed} of {len(run.evidence)} checks passed; restore took {result.duration:.1f} s.")
    if not result.ok:
        failed = [str(e.get("check")) for e in run.evidence if isinstance(e, dict) and not e.get("ok")]
        reason = result.error or (f"failed checks: {', '.join(failed[:5])}" if failed else "see the evidence")
        raise JobError("drill", f"The restore drill failed: {reason}")
    Plan.objects.filter(pk=plan.pk).update(last_verified_restore_at=timezone.now())


def _restore(run, spec, report) -> None:
    from . import engine

    source = _source_run(run)
    result = engine.restore(
        spec, source.snapshots, list(source.sources or []), dict(run.target or {}), progress=report
    )
    run.snapshots = source.snapshots
    run.duration = result.duration
    run.details = {"restored": result.restored}
    run.log(f"Restored {len(source.snapshots)} snapshot(s) in {result.duration:.1f} s.")


# --- the schedule -------------------------------------------------------------------------------------
def _due_field(kind: str) -> str:
    return f"next_{kind}_at"


def reschedule(plan: Plan) -> None:
    """Forget the plan's computed due times (after its schedules changed): the next tick recomputes them."""
    Plan.objects.filter(pk=plan.pk).update(
        next_backup_at=None, next_forget_at=None, next_check_at=None, next_drill_at=None
    )


def tick(now: datetime | None = None) -> list[Run]:
    """Queue every job that is due, update the overdue and restore-age findings; return the runs queued."""
    now = now or timezone.now()
    queued = []
    open_keys = health.open_keys()
    plans = Plan.objects.filter(enabled=True).select_related("service", "organization", "repository")
    for plan in plans.iterator(chunk_size=500):
        for kind, line in plan.schedules().items():
            field = _due_field(kind)
            current = getattr(plan, field)
            if current is not None and current > now:
                continue
            following = cron.next_fire(line, plan.tz, now)
            if cron.NEVER == following:
                following = None
            # Compare-and-set: of two ticks at the same moment, one moves the due time and queues the job.
            if not Plan.objects.filter(pk=plan.pk, **{field: current}).update(**{field: following}):
                continue
            if current is None:
                continue  # first sight of this schedule: its first run is at the next fire time
            run = _queue_scheduled(plan, kind)
            if run is not None:
                queued.append(run)
        health.periodic(plan, now, open_keys)
    recover(now)
    return queued


def _queue_scheduled(plan: Plan, kind: str) -> Run | None:
    busy = plan.runs.filter(kind=kind, state__in=[State.QUEUED, State.RUNNING]).exists()
    if busy:
        return None  # the last one has not finished: do not pile them up
    if kind in (Kind.FORGET, Kind.CHECK) and not plan.repository.initialized:
        return None  # nothing backed up yet
    if kind == Kind.DRILL and latest_good_backup(plan) is None:
        return None  # nothing to drill yet; the overdue finding says why
    run = create_run(plan, kind, trigger=Run.Trigger.SCHEDULE)
    enqueue(run)
    return run


def recover(now: datetime) -> int:
    """Fail runs whose worker died (their lease is gone) and re-queue queued runs whose job was lost."""
    failed = 0
    for run in Run.objects.filter(state=State.RUNNING).select_related("plan__repository"):
        repo = run.plan.repository
        held = repo.lease_holder == holder_of(run) and repo.lease_expires and repo.lease_expires > now
        if held:
            continue
        updated = Run.objects.filter(pk=run.pk, state=State.RUNNING).update(
            state=State.FAILED,
            finished=now,
            error_kind="interrupted",
            error_message=(
                "The job stopped before it finished (its worker was stopped or crashed). The next run "
                "removes the lock it left in the repository once it is stale."
            ),
        )
        if updated:
            failed += 1
            run.refresh_from_db()
            health.after_run(run)
    # Queued runs whose job was lost (a queue emptied by hand) are given to the queue once more, by the
    # tick in the minute they turn REQUEUE_AFTER old.
    lost = Run.objects.filter(
        state=State.QUEUED,
        created__lte=now - timedelta(seconds=REQUEUE_AFTER),
        created__gt=now - timedelta(seconds=REQUEUE_AFTER + 60),
    )
    for run in lost[:100]:
        enqueue(run)
    return failed
