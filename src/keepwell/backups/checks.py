"""The backups practice's scorecard: the age of the last good backup and of the last verified restore."""

from django.urls import reverse
from django.utils import timezone

from keepwell.core.models import Finding
from keepwell.core.models.findings import State
from keepwell.core.scorecard import ATTENTION, FAILING, NOT_SET_UP, OK, PracticeStatus, register

from . import health, schedule
from .models import Plan

FAILING_PROBLEMS = {health.BACKUP_FAILED, health.CHECK_FAILED, health.DRILL_FAILED}


def summarize(n_plans, last_backup, last_restore, problems, now) -> tuple[str, str]:
    """Return (state, one-line reason) from the plans' newest good backup and restore and open problems."""
    if not n_plans:
        return NOT_SET_UP, "No backup plans yet."
    backup = (
        f"last good backup {schedule.age_words(now - last_backup)} ago"
        if last_backup
        else "no good backup yet"
    )
    restore = (
        f"last verified restore {schedule.age_words(now - last_restore)} ago"
        if last_restore
        else "no verified restore yet"
    )
    ages = f"{backup[0].upper()}{backup[1:]}; {restore}."
    failing = sorted(p for p in problems if p in FAILING_PROBLEMS)
    if failing:
        return FAILING, f"{', '.join(p.replace('-', ' ') for p in failing).capitalize()}. {ages}"
    if problems:
        return ATTENTION, f"{', '.join(sorted(p.replace('-', ' ') for p in problems)).capitalize()}. {ages}"
    return OK, ages


@register("backups")
def status(service) -> PracticeStatus:
    """Return the status of the service's backups: the worst open problem, with the ages of the latest."""
    rows = list(
        Plan.objects.filter(service=service, enabled=True).values_list(
            "last_good_backup_at", "last_verified_restore_at"
        )
    )
    # With several plans the oldest counts: the scorecard shows the plan that needs a person most.
    backups = [b for b, _ in rows]
    restores = [r for _, r in rows]
    last_backup = None if None in backups else min(backups, default=None)
    last_restore = None if None in restores else min(restores, default=None)
    keys = Finding.objects.filter(service=service, source=health.SOURCE).exclude(state=State.RESOLVED)
    problems = {k.rsplit(":", 1)[-1] for k in keys.values_list("key", flat=True)}
    state, reason = summarize(len(rows), last_backup, last_restore, problems, timezone.now())
    org = service.organization.slug
    name = "backup-plan-new" if state == NOT_SET_UP else "backups"
    return PracticeStatus(state, reason, reverse(name, args=[org]) + f"?service={service.slug}")
