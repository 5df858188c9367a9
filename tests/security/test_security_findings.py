"""The findings contract: report() raises a core finding carrying its fix-by date, clear() resolves it, and
overdue findings escalate to critical (at once in report(), and from the hourly job)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from keepwell.core.findings import resolve
from keepwell.core.models import Finding, FindingEvent
from keepwell.security import findings
from keepwell.security.models import FixDeadline
from keepwell.security.tasks import security_escalate_overdue

pytestmark = pytest.mark.django_db
KEY = "vuln:GHSA-aaaa-bbbb-cccc"
TITLE = "django 4.2.0: GHSA-aaaa-bbbb-cccc"


def _finding(service):
    return Finding.objects.get(service=service, source="security", key=KEY)


def test_a_report_raises_a_finding_whose_detail_carries_the_fix_by_date(service):
    seen = timezone.now() - timedelta(days=2)
    findings.report(service, key=KEY, title=TITLE, severity="high", first_seen=seen, url="/o/acme/security/")
    finding = _finding(service)
    assert (finding.state, finding.severity, finding.title) == ("open", "critical", TITLE)
    fix_by = seen + timedelta(days=30)
    assert finding.detail.startswith(f"Fix by {fix_by:%Y-%m-%d} (30 days for high severity")
    assert FixDeadline.objects.get(service=service, key=KEY).fix_by == fix_by


@pytest.mark.parametrize("severity, core", [("critical", "critical"), ("medium", "warning"), ("low", "info"),
                                            ("unknown", "warning"), ("MODERATE", "warning")])  # fmt: skip
def test_security_severities_become_core_severities(service, severity, core):
    findings.report(service, key=KEY, title=TITLE, severity=severity)
    assert _finding(service).severity == core


def test_an_unknown_severity_is_refused(service):
    with pytest.raises(ValueError, match="severity must be one of"):
        findings.report(service, key=KEY, title=TITLE, severity="bad")
    assert not Finding.objects.exists()


def test_a_later_report_never_restarts_the_clock(service):
    seen = timezone.now() - timedelta(days=5)
    findings.report(service, key=KEY, title=TITLE, severity="critical", first_seen=seen)
    findings.report(service, key=KEY, title=TITLE, severity="critical", first_seen=timezone.now())
    assert FixDeadline.objects.get(key=KEY).fix_by == seen + timedelta(days=7)
    assert _finding(service).count == 2


def test_a_report_past_the_fix_by_date_is_critical_and_says_since_when(service):
    seen = timezone.now() - timedelta(days=100)
    findings.report(
        service, key=KEY, title=TITLE, severity="medium", first_seen=seen, detail="Upgrade to 4.2.1."
    )
    finding = _finding(service)
    assert finding.severity == "critical"
    assert finding.title == f"Overdue: {TITLE}"
    assert finding.detail.startswith(f"Overdue since {seen + timedelta(days=90):%Y-%m-%d}")
    assert finding.detail.endswith("Upgrade to 4.2.1.")
    # Reporting it again (the daily scan) keeps it critical: the policy, not the advisory, decides.
    findings.report(service, key=KEY, title=TITLE, severity="medium", first_seen=seen)
    assert _finding(service).severity == "critical"


def test_the_hourly_job_escalates_overdue_findings_once(service, settings):
    settings.FIX_BY_DAYS = {**settings.FIX_BY_DAYS, "low": 1}
    findings.report(service, key=KEY, title=TITLE, severity="low", detail="Upgrade to 4.2.1.")
    assert _finding(service).severity == "info"
    assert findings.escalate_overdue(timezone.now()) == 0
    later = timezone.now() + timedelta(days=1, minutes=1)
    assert findings.escalate_overdue(later) == 1
    finding = _finding(service)
    assert finding.severity == "critical" and finding.title.startswith("Overdue: ")
    assert "Overdue since" in finding.detail and finding.detail.endswith("Upgrade to 4.2.1.")
    assert FindingEvent.objects.filter(finding=finding, kind="escalated").count() == 1
    assert findings.escalate_overdue(later) == 0


def test_the_periodic_task_runs_the_escalation(service):
    findings.report(service, key=KEY, title=TITLE, severity="critical")
    FixDeadline.objects.update(fix_by=timezone.now() - timedelta(minutes=1))
    security_escalate_overdue.call_local()
    assert _finding(service).title.startswith("Overdue: ")


def test_a_finding_resolved_by_hand_is_not_escalated_and_its_deadline_goes(service):
    findings.report(service, key=KEY, title=TITLE, severity="critical")
    resolve(_finding(service))
    assert findings.escalate_overdue(timezone.now() + timedelta(days=8)) == 0
    assert not FixDeadline.objects.exists()
    assert _finding(service).state == "resolved"


def test_clear_resolves_the_finding_and_forgets_its_deadline(service):
    findings.report(service, key=KEY, title=TITLE, severity="high")
    findings.clear(service, key=KEY)
    assert _finding(service).state == "resolved"
    assert not FixDeadline.objects.exists()
    assert findings.clear(service, key="vuln:never-seen") is None
