"""Jobs of the dependencies app: the nightly scan of every service, one scan, one proposal."""

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from keepwell.core.models import Service

from . import hub
from .models import Proposal, Scan

SCAN_HOUR = str(settings.DEPS_SCAN_HOUR % 24)


@db_periodic_task(crontab(minute="23", hour=SCAN_HOUR))
def nightly_scans():
    """Queue a scan of every service whose repository is a local folder or a git URL; return how many were queued."""
    queued = 0
    for service in Service.objects.exclude(repository="").only("id", "repository").iterator():
        if hub.can_scan(service):
            row = Scan.objects.create(service=service)
            run_scan(row.pk)
            queued += 1
    return queued


@db_task()
def run_scan(scan_id: int):
    """Run the queued scan `scan_id` (idempotent: a scan that already ran is left as it is)."""
    row = Scan.objects.select_related("service__organization").filter(pk=scan_id).first()
    if row is None or row.status != Scan.Status.QUEUED:
        return None
    hub.scan_service(row.service, row)
    return row.status


@db_task()
def run_proposal(proposal_id: int):
    """Write and test the queued proposal `proposal_id` (a proposal that already ran is left as it is)."""
    proposal = Proposal.objects.select_related("service__organization").filter(pk=proposal_id).first()
    if proposal is None or proposal.status != Proposal.Status.QUEUED:
        return None
    hub.run_proposal(proposal)
    return proposal.status
