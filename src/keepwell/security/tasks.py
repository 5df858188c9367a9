"""Jobs of the security app: secrets scans, posture probes and the hourly escalation of overdue fixes."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from keepwell.core.models import Service

from . import findings, scanning
from .models import SecretScan
from .tasks_vulns import *  # noqa: F403 — known vulnerabilities: OSV refresh and per-service scans


@db_task()
def scan_service_secrets(service_id: int, history: bool = False, scan_id: int | None = None):
    """Scan one service's repository for secrets (and its history when asked), filling in scan `scan_id`."""
    service = Service.objects.filter(pk=service_id).select_related("organization").first()
    if service is None:
        return None
    scan = SecretScan.objects.filter(pk=scan_id, service=service, status=SecretScan.Status.RUNNING).first()
    if scan_id is not None and scan is None:
        return None  # already done by an earlier try of this job
    return scanning.scan_secrets(service, history=history, scan=scan).pk


@db_task()
def probe_service_posture(service_id: int):
    """Grade the web posture of one service's monitored HTTPS URLs."""
    service = Service.objects.filter(pk=service_id).select_related("organization").first()
    if service is not None:
        return len(scanning.probe_service(service))


@db_periodic_task(crontab(minute="17", hour="3"))
def security_daily():
    """Scan every service with a repository (a folder or a git URL) for secrets and grade every monitored HTTPS URL, daily."""
    for service in Service.objects.select_related("organization").order_by("id").iterator():
        if (service.repository or "").strip():  # a local folder or a git URL
            scanning.scan_secrets(service)
        if scanning.https_monitors(service) or service.posture_results.exists():
            scanning.probe_service(service)


@db_periodic_task(crontab(minute="5"))
def security_escalate_overdue():
    """Escalate security findings past their fix-by date to critical."""
    return findings.escalate_overdue()
