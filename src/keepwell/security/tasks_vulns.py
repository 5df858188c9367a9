"""Jobs for known vulnerabilities: refresh the OSV database on a schedule, scan each service's repository."""

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from keepwell.core.models import Service

from . import vulnerabilities

__all__ = ["osv_refresh", "scan_service_vulnerabilities", "vulnerability_scans"]


def _every(hours: int, minute: str):
    """Return a crontab running every `hours` hours (1-24; 0 or less never matches a real hour)."""
    hours = max(1, min(int(hours), 24))
    return crontab(minute=minute, hour="0" if hours == 24 else f"*/{hours}")


def _local_services():
    for service in Service.objects.select_related("organization").order_by("id").iterator():
        # A local folder or a git URL (cloned into the data directory by keepwell.core.repositories).
        if (service.repository or "").strip():
            yield service


@db_task()
def scan_service_vulnerabilities(service_id: int, scan_id: int | None = None):
    """Scan one service's repository for known vulnerabilities (into the scan row `scan_id` when given)."""
    from .models import VulnerabilityScan

    service = Service.objects.filter(pk=service_id).select_related("organization").first()
    if service is None:
        return None
    scan_row = VulnerabilityScan.objects.filter(pk=scan_id, service=service).first() if scan_id else None
    return vulnerabilities.scan_service(service, scan_row=scan_row).pk


def _refresh():
    from .osv_sync import update

    result = update(
        data_dir=settings.DATA_DIR,
        url_template=settings.OSV_URL,
        ecosystems=settings.OSV_ECOSYSTEMS,
        max_bytes=settings.OSV_MAX_DOWNLOAD_MB * 2**20,
    )
    if result.stats is not None:
        # New advisories: every service is checked against them now rather than at its next scan.
        for service in _local_services():
            scan_service_vulnerabilities(service.pk)
    return {"downloaded": result.downloaded, "failed": result.failed, "rebuilt": result.stats is not None}


def _scan_all():
    count = 0
    for service in _local_services():
        scan_service_vulnerabilities(service.pk)
        count += 1
    return count


if settings.OSV_UPDATE_HOURS > 0:
    osv_refresh = db_periodic_task(_every(settings.OSV_UPDATE_HOURS, "41"), name="osv_refresh")(_refresh)
else:
    osv_refresh = db_task(name="osv_refresh")(_refresh)

if settings.VULN_SCAN_HOURS > 0:
    vulnerability_scans = db_periodic_task(
        _every(settings.VULN_SCAN_HOURS, "53"), name="vulnerability_scans"
    )(_scan_all)
else:
    vulnerability_scans = db_task(name="vulnerability_scans")(_scan_all)
