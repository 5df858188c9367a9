"""Findings: list and read them, raise one from a script, and acknowledge, resolve or snooze them."""

from datetime import datetime, timedelta
from typing import Annotated, Literal

from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import StringConstraints, model_validator

from .. import audit
from .. import findings as lifecycle
from ..models import Finding
from ..models.findings import State
from .base import NO_NUL, DateTime, Id, Page, Slug, Text, _text, errors, get_or_404, require
from .services import service_or_404

router = Router(tags=["findings"])

SeverityName = Literal["info", "warning", "critical"]
StateName = Literal["open", "acknowledged", "resolved"]
Source = Annotated[
    str, StringConstraints(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]
Key = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=NO_NUL)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=NO_NUL)]


class FindingOut(Schema):
    id: int
    service: str
    source: str
    key: str
    severity: str
    state: str
    title: str
    detail: str
    url: str
    count: int
    times_reopened: int
    first_seen: datetime
    last_seen: datetime
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    snoozed_until: datetime | None

    @staticmethod
    def resolve_service(obj):
        return obj.service.slug

    @staticmethod
    def resolve_acknowledged_by(obj):
        return obj.acknowledged_by.email if obj.acknowledged_by else None

    @staticmethod
    def resolve_resolved_by(obj):
        return obj.resolved_by.email if obj.resolved_by else None


class FindingIn(Schema):
    service: Slug
    source: Source = Field(..., description="Who found it, e.g. 'ci' or 'nightly-check'.")
    key: Key = Field(..., description="What makes it the same finding next time.")
    title: Title
    severity: SeverityName = "warning"
    detail: Text = ""
    url: _text(500) = ""


class SnoozeIn(Schema):
    until: DateTime | None = Field(None, description="Hold notifications until this time (with a time zone).")
    seconds: int | None = Field(None, ge=60, le=90 * 86400, description="Or: for this many seconds.")

    @model_validator(mode="after")
    def one_of(self):
        if (self.until is None) == (self.seconds is None):
            raise ValueError("give either 'until' (a time) or 'seconds', not both or neither")
        return self


def _findings(request):
    return Finding.objects.filter(organization=request.org).select_related(
        "service", "acknowledged_by", "resolved_by"
    )


def _finding_or_404(request, id):
    return get_or_404(_findings(request), "finding", id, pk=id)


@router.get("/findings", response={200: list[FindingOut], **errors(404, 422)}, summary="List findings")
@paginate(Page)
def list_findings(
    request,
    service: Slug | None = None,
    state: StateName | None = None,
    severity: SeverityName | None = None,
    source: Source | None = None,
):
    """List findings, most recently seen first, filtered by service slug, state, severity and source."""
    findings = _findings(request).order_by("-last_seen", "-id")
    if service:
        findings = findings.filter(service=service_or_404(request, service))
    if state:
        findings = findings.filter(state=state)
    if severity:
        findings = findings.filter(severity=severity)
    if source:
        findings = findings.filter(source=source)
    return findings


@router.post("/findings", response={201: FindingOut, **errors(401, 403, 404, 422)}, summary="Raise a finding")
def raise_finding(request, payload: FindingIn):
    """Raise (or count again, or re-open) the finding (service, source, key), e.g. from a script or CI."""
    require(request, "act")
    service = service_or_404(request, payload.service)
    finding = lifecycle.raise_finding(
        service,
        source=payload.source,
        key=payload.key,
        title=payload.title,
        severity=payload.severity,
        detail=payload.detail,
        url=payload.url,
    )
    return Status(201, _finding_or_404(request, finding.pk))


@router.get("/findings/{id}", response={200: FindingOut, **errors(401, 404, 422)}, summary="Get a finding")
def get_finding(request, id: Id):
    """Return one finding."""
    return _finding_or_404(request, id)


@router.post(
    "/findings/{id}/acknowledge",
    response={200: FindingOut, **errors(401, 403, 404, 409, 422)},
    summary="Acknowledge",
)
def acknowledge(request, id: Id):
    """Acknowledge an open finding: escalation and reminders stop. Acknowledging twice is harmless."""
    require(request, "act")
    finding = _finding_or_404(request, id)
    if finding.state == State.RESOLVED:
        raise HttpError(409, f"Finding {id} is resolved; there is nothing to acknowledge.")
    if lifecycle.acknowledge(finding, request.membership.user):
        audit.record("acknowledge", finding)
    return _finding_or_404(request, id)


@router.post(
    "/findings/{id}/resolve", response={200: FindingOut, **errors(401, 403, 404, 422)}, summary="Resolve"
)
def resolve(request, id: Id):
    """Resolve a finding by hand; it re-opens if its source sees the problem again."""
    require(request, "act")
    finding = _finding_or_404(request, id)
    if lifecycle.resolve(finding, request.membership.user):
        audit.record("resolve", finding)
    return _finding_or_404(request, id)


@router.post(
    "/findings/{id}/snooze", response={200: FindingOut, **errors(401, 403, 404, 409, 422)}, summary="Snooze"
)
def snooze(request, id: Id, payload: SnoozeIn):
    """Hold notifications about an unresolved finding until a time, or for some seconds."""
    require(request, "act")
    finding = _finding_or_404(request, id)
    now = timezone.now()
    until = payload.until if payload.until is not None else now + timedelta(seconds=payload.seconds)
    if until <= now:
        raise HttpError(422, "until: must be in the future")
    if not lifecycle.snooze(finding, until, request.membership.user):
        raise HttpError(409, f"Finding {id} is resolved; only unresolved findings can be snoozed.")
    audit.record("snooze", finding, changes={"until": until.isoformat()})
    return _finding_or_404(request, id)
