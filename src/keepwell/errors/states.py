"""What a person does to a group: resolve (now or in the next release), ignore, unresolve.

Pages and the API both call `change_status`; it keeps the group's findings in step and audits the change.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from keepwell.core.models import Release

from . import versions
from .models import ErrorGroup
from .processing import resolve_findings

Status = ErrorGroup.Status
ACTIONS = {
    "resolve": Status.RESOLVED,
    "resolve_next": Status.RESOLVED_NEXT,
    "ignore": Status.IGNORED,
    "unresolve": Status.UNRESOLVED,
}


class StatusError(ValueError):
    """The change asked for is not possible; the message says why and what to do."""


def newest_release(group: ErrorGroup) -> str:
    """Return the newest release the group has been seen in, else the service's newest release, else ""."""
    if group.last_release:
        return group.last_release
    rows = list(Release.objects.filter(service_id=group.service_id).values_list("version", "created")[:200])
    return versions.newest([v for v, _ in rows], dict(rows)) or ""


def change_status(
    group: ErrorGroup,
    status: str,
    *,
    actor=None,
    ignore_count: int | None = None,
    ignore_until: datetime | None = None,
) -> ErrorGroup:
    """Set the group's status; resolving or ignoring resolves its findings. Return the updated group."""
    if status not in Status.values:
        raise StatusError(f"status must be one of {', '.join(Status.values)}, not {status!r}.")
    if status != Status.IGNORED and (ignore_count is not None or ignore_until is not None):
        raise StatusError("ignore_count and ignore_until only go with the status ignored.")
    if ignore_until is not None and ignore_until <= timezone.now():
        raise StatusError("ignore_until is in the past; give a time in the future, or leave it out.")
    with transaction.atomic():
        group = (
            ErrorGroup.objects.select_for_update().select_related("service__organization").get(pk=group.pk)
        )
        group.status = status
        group.ignored_until = ignore_until if status == Status.IGNORED else None
        group.ignored_until_count = (
            group.count + ignore_count if status == Status.IGNORED and ignore_count else None
        )
        if status in (Status.RESOLVED, Status.RESOLVED_NEXT):
            group.resolved_at = timezone.now()
            group.resolved_release = newest_release(group)
            group.regressed = False
        else:
            group.resolved_at = None
            group.resolved_release = ""
        if status == Status.UNRESOLVED:
            group.regressed = False
        group.save()
        if status in (Status.RESOLVED, Status.RESOLVED_NEXT, Status.IGNORED):
            resolve_findings(group, actor=actor, note=f"error group {Status(status).label.lower()}")
    return group
