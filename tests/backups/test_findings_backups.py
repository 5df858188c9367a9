"""Findings of the backups practice: raised when something goes wrong, resolved when it is good again."""
# ruff: noqa: F811  (the fixtures imported from backup_app_helpers are redefined as test arguments)

from datetime import timedelta

import pytest
from backup_app_helpers import (  # noqa: F401  fixtures
    PASSWORD,
    data_tree,
    plan,
    repo_path,
    restic_cache,
    template_repository,
)
from django.utils import timezone

from keepwell.backups import health, jobs
from keepwell.backups.checks import summarize
from keepwell.backups.models import Plan, Run, StorageSample
from keepwell.core import scorecard
from keepwell.core.models import Finding

pytestmark = pytest.mark.django_db


def _finding(plan, problem):
    return Finding.objects.filter(
        service=plan.service, source="backups", key=health.key(plan, problem)
    ).first()


def _run(plan, kind):
    return jobs.execute(jobs.create_run(plan, kind, trigger=Run.Trigger.SCHEDULE))


def test_a_failed_backup_opens_a_critical_finding_that_a_good_backup_resolves(plan):
    repo = plan.repository
    repo.password, repo.initialized = "wrong password", True
    repo.save()

    failed = _run(plan, Run.Kind.BACKUP)

    finding = _finding(plan, health.BACKUP_FAILED)
    assert failed.state == Run.State.FAILED
    assert finding.state == "open" and finding.severity == "critical"
    assert "wrong-password" in finding.title and finding.url == plan.get_absolute_url()

    repo.password = PASSWORD
    repo.save()
    good = _run(plan, Run.Kind.BACKUP)

    assert good.state == Run.State.SUCCEEDED, good.error_message
    finding.refresh_from_db()
    assert finding.state == "resolved"


def test_the_scheduled_tick_finds_an_overdue_backup_and_resolves_it_after_a_good_one(plan):
    Plan.objects.filter(pk=plan.pk).update(created=timezone.now() - timedelta(days=3))
    plan.refresh_from_db()

    jobs.tick(timezone.now())

    finding = _finding(plan, health.OVERDUE)
    assert finding.state == "open" and finding.severity == "warning"
    assert "never completed a backup" in finding.detail
    assert finding.count == 1
    jobs.tick(timezone.now())  # still overdue: the same finding, not counted every minute
    finding.refresh_from_db()
    assert finding.count == 1

    assert _run(plan, Run.Kind.BACKUP).state == Run.State.SUCCEEDED
    finding.refresh_from_db()
    assert finding.state == "resolved"
    jobs.tick(timezone.now())
    finding.refresh_from_db()
    assert finding.state == "resolved"


def test_a_backup_that_is_on_time_is_not_overdue(plan):
    Plan.objects.filter(pk=plan.pk).update(last_good_backup_at=timezone.now() - timedelta(minutes=1))

    jobs.tick(timezone.now())

    assert _finding(plan, health.OVERDUE) is None


def test_no_verified_restore_for_too_long_opens_a_finding_that_a_drill_resolves(plan):
    Plan.objects.filter(pk=plan.pk).update(
        created=timezone.now() - timedelta(days=30), last_good_backup_at=timezone.now()
    )

    jobs.tick(timezone.now())

    finding = _finding(plan, health.RESTORE_AGE)
    assert finding.state == "open"
    assert f"keepwell backup drill {plan.pk}" in finding.detail

    assert _run(plan, Run.Kind.BACKUP).state == Run.State.SUCCEEDED
    assert _run(plan, Run.Kind.DRILL).state == Run.State.SUCCEEDED
    finding.refresh_from_db()
    assert finding.state == "resolved"


def test_a_failed_drill_and_a_failed_check_open_critical_findings(plan):
    _run(plan, Run.Kind.DRILL)  # no backup to drill: fails
    assert _finding(plan, health.DRILL_FAILED).severity == "critical"

    repo = plan.repository
    repo.password = "wrong"
    repo.save()
    _run(plan, Run.Kind.CHECK)
    assert _finding(plan, health.CHECK_FAILED).state == "open"


def test_a_repository_growing_much_faster_than_usual_opens_a_growth_finding(plan):
    start = timezone.now() - timedelta(days=10)
    size = 10_000_000
    for day in range(9):
        size += 100_000
        StorageSample.objects.create(
            repository=plan.repository, at=start + timedelta(days=day), total_size=size, bytes_added=100_000
        )
    StorageSample.objects.create(
        repository=plan.repository, at=timezone.now(), total_size=size + 500_000_000, bytes_added=500_000_000
    )

    sentence = health.growth(plan)

    assert sentence
    assert _finding(plan, health.GROWTH).detail == sentence


def test_steady_growth_raises_nothing(plan):
    start = timezone.now() - timedelta(days=10)
    for day in range(10):
        StorageSample.objects.create(
            repository=plan.repository,
            at=start + timedelta(days=day),
            total_size=10_000_000 + day * 100_000,
            bytes_added=100_000,
        )

    assert health.growth(plan) is None
    assert _finding(plan, health.GROWTH) is None


def test_a_disabled_plan_is_never_overdue(plan):
    Plan.objects.filter(pk=plan.pk).update(created=timezone.now() - timedelta(days=30), enabled=False)
    plan.refresh_from_db()

    health.periodic(plan, timezone.now())

    assert _finding(plan, health.OVERDUE) is None
    assert _finding(plan, health.RESTORE_AGE) is None


def test_the_scorecard_says_not_set_up_without_a_plan(service):
    status = scorecard.status("backups", service)
    assert status.state == "not set up"
    assert "/backups/plans/new" in status.url


def test_the_scorecard_shows_the_ages_of_the_last_backup_and_restore(plan):
    now = timezone.now()
    Plan.objects.filter(pk=plan.pk).update(
        last_good_backup_at=now - timedelta(hours=5), last_verified_restore_at=now - timedelta(days=2)
    )

    status = scorecard.status("backups", plan.service)

    assert status.state == "ok"
    assert status.reason == "Last good backup 5 hours ago; last verified restore 2 days ago."


def test_the_scorecard_fails_while_a_backup_failure_is_open(plan):
    health._raise(plan, health.BACKUP_FAILED, "Backup failed", "critical")

    status = scorecard.status("backups", plan.service)

    assert status.state == "failing"
    assert status.reason.startswith("Backup failed.")


def test_summarize_reports_attention_for_time_based_problems():
    now = timezone.now()
    state, reason = summarize(1, now - timedelta(days=3), None, {"overdue"}, now)
    assert state == "attention"
    assert reason == "Overdue. Last good backup 3 days ago; no verified restore yet."
