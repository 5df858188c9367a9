"""What the backups practice reports as findings, and when it resolves them.

Keys are per plan: `plan:<id>:<problem>`. A run's outcome raises or resolves its finding at once; the
minute tick looks after the findings that come from time passing (overdue, restore too old).
"""

from django.utils import timezone

from keepwell.core.findings import raise_finding, resolve_finding
from keepwell.core.models import Finding
from keepwell.core.models.findings import State

from . import schedule

SOURCE = "backups"
SAMPLES_FOR_GROWTH = 30

BACKUP_FAILED = "backup-failed"
OVERDUE = "overdue"
CHECK_FAILED = "check-failed"
DRILL_FAILED = "drill-failed"
FORGET_FAILED = "forget-failed"
RESTORE_AGE = "restore-age"
GROWTH = "growth"
PROBLEMS = [BACKUP_FAILED, OVERDUE, CHECK_FAILED, DRILL_FAILED, FORGET_FAILED, RESTORE_AGE, GROWTH]


def key(plan, problem: str) -> str:
    return f"plan:{plan.pk}:{problem}"


def _raise(plan, problem, title, severity, detail=""):
    return raise_finding(
        plan.service,
        source=SOURCE,
        key=key(plan, problem),
        title=title,
        severity=severity,
        detail=detail,
        url=plan.get_absolute_url(),
    )


def _resolve(plan, problem, note=""):
    return resolve_finding(plan.service, source=SOURCE, key=key(plan, problem), note=note)


def open_keys() -> set[tuple[int, str]]:
    """Return (service id, key) of the backups findings that are not resolved."""
    rows = (
        Finding.objects.filter(source=SOURCE).exclude(state=State.RESOLVED).values_list("service_id", "key")
    )
    return set(rows)


def after_run(run) -> None:
    """Raise or resolve the finding that a finished run speaks to."""
    from .models import Run

    plan = run.plan
    failed = run.state == Run.State.FAILED
    if run.state not in (Run.State.SUCCEEDED, Run.State.FAILED):
        return
    what = f"{run.error_kind}: {run.error_message}" if failed else ""
    if run.kind == Run.Kind.BACKUP:
        if failed:
            _raise(plan, BACKUP_FAILED, f"Backup of {plan.name} failed ({run.error_kind})", "critical", what)
        else:
            _resolve(plan, BACKUP_FAILED, f"backup run {run.pk} succeeded")
            _resolve(plan, OVERDUE, f"backup run {run.pk} succeeded")
            growth(plan)
    elif run.kind == Run.Kind.CHECK:
        if failed:
            _raise(plan, CHECK_FAILED, f"Repository check of {plan.name} failed", "critical", what)
        else:
            _resolve(plan, CHECK_FAILED, f"check run {run.pk} passed")
    elif run.kind == Run.Kind.DRILL:
        if failed:
            _raise(plan, DRILL_FAILED, f"Restore drill of {plan.name} failed", "critical", what)
        else:
            _resolve(plan, DRILL_FAILED, f"drill run {run.pk} passed")
            _resolve(plan, RESTORE_AGE, f"drill run {run.pk} verified a restore")
    elif run.kind == Run.Kind.FORGET:
        if failed:
            _raise(plan, FORGET_FAILED, f"Applying the retention of {plan.name} failed", "warning", what)
        else:
            _resolve(plan, FORGET_FAILED, f"forget run {run.pk} succeeded")


def growth(plan) -> str | None:
    """Raise the growth finding when the plan's repository grows faster than expected, else resolve it."""
    from .engine import growth_alert
    from .models import StorageSample

    rows = StorageSample.objects.filter(repository_id=plan.repository_id).order_by("-at", "-id")
    samples = [(at, size) for at, size in rows.values_list("at", "total_size")[:SAMPLES_FOR_GROWTH]][::-1]
    sentence = growth_alert(samples)
    if sentence:
        _raise(plan, GROWTH, f"The backup repository of {plan.name} grows faster than expected", "warning",
               sentence)  # fmt: skip
    else:
        _resolve(plan, GROWTH)
    return sentence


def periodic(plan, now=None, known_open=None) -> None:
    """Raise or resolve the findings that come from time passing: backup overdue, restore too old."""
    now = now or timezone.now()
    known_open = open_keys() if known_open is None else known_open

    def is_open(problem):
        return (plan.service_id, key(plan, problem)) in known_open

    late = None
    if plan.enabled:
        late = schedule.overdue_by(
            plan.schedule,
            plan.tz,
            last_good=plan.last_good_backup_at,
            since=plan.created,
            grace_minutes=plan.grace_minutes,
            now=now,
        )
    if late is not None and not is_open(OVERDUE):
        last = (
            f"The last good backup was {schedule.age_words(now - plan.last_good_backup_at)} ago."
            if plan.last_good_backup_at
            else "It has never completed a backup."
        )
        detail = (
            f"{last} The schedule is '{plan.schedule}' ({plan.tz}) with {plan.grace_minutes} minutes' grace."
        )
        _raise(plan, OVERDUE, f"Backup of {plan.name} is overdue", "warning", detail)
    elif late is None and is_open(OVERDUE):
        _resolve(plan, OVERDUE)

    too_old = plan.enabled and schedule.restore_too_old(
        plan.last_verified_restore_at, since=plan.created, max_age_days=plan.max_restore_age_days, now=now
    )
    if too_old and not is_open(RESTORE_AGE):
        last = (
            f"The last verified restore was {schedule.age_words(now - plan.last_verified_restore_at)} ago."
            if plan.last_verified_restore_at
            else "No restore of it has been verified yet."
        )
        _raise(
            plan,
            RESTORE_AGE,
            f"No verified restore of {plan.name} in {plan.max_restore_age_days} days",
            "warning",
            f"{last} Run a restore drill (keepwell backup drill {plan.pk}) or set a drill schedule.",
        )
    elif not too_old and is_open(RESTORE_AGE):
        _resolve(plan, RESTORE_AGE)


def forget_plan(plan) -> None:
    """Resolve every finding of a plan that is being deleted."""
    for problem in PROBLEMS:
        _resolve(plan, problem, "the backup plan was deleted")
