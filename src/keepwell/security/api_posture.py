"""Secrets and web posture: /services/{slug}/secrets[/{id}/accept], /secret-scans, /posture[/checks]."""

from datetime import datetime
from typing import Any

from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictBool

from keepwell.core.api.base import Id, Page, ShortText, Slug, errors, get_or_404, require
from keepwell.core.api.services import service_or_404

from . import scanning, tasks
from .models import AcceptedSecret, PostureResult, SecretFinding, SecretScan

router = Router(tags=["security"])


class SecretOut(Schema):
    id: int
    type: str
    filename: str
    line: int
    hint: str = Field(..., description="At most the first four characters and the length; never the value.")
    hashed_secret: str = Field(
        ..., description="detect-secrets' SHA-1 of the value, as in .secrets.baseline."
    )
    commit: str
    in_tree: bool
    accepted: bool
    accepted_in: str = Field(..., description='"hub", "repository" (its .secrets.baseline) or "".')
    first_seen: datetime
    last_seen: datetime


class AcceptIn(Schema):
    reason: ShortText = Field("", description="Why this is not a secret to act on (a test fixture, revoked).")


class ScanIn(Schema):
    history: StrictBool = Field(
        False, description="Also walk the git history (every commit reachable from HEAD)."
    )


class ScanOut(Schema):
    id: int
    history: bool
    status: str = Field(..., description="running, done or failed.")
    error: str
    started: datetime
    finished: datetime | None
    files_scanned: int
    commits_scanned: int
    found: int


class PostureOut(Schema):
    url: str
    monitor_id: int | None
    grade: str = Field(..., description="A+ to F.")
    score: int
    reasons: list[dict[str, Any]] = Field(..., description="Each with test, modifier and text.")
    tls_versions: dict[str, bool]
    cert_not_after: datetime | None
    cert_error: str
    status_code: int | None
    error: str
    checked_at: datetime


class PostureCheckOut(Schema):
    items: list[PostureOut]
    count: int


def _accepted_in(row, hub: set[str]) -> str:
    if row.fingerprint in hub:
        return "hub"
    return "repository" if row.in_repo_baseline else ""


def _secret_out(row, hub: set[str]) -> dict:
    where = _accepted_in(row, hub)
    fields = ("id", "type", "filename", "line", "hint", "hashed_secret", "commit", "in_tree", "first_seen",
              "last_seen")  # fmt: skip
    return {**{f: getattr(row, f) for f in fields}, "accepted": bool(where), "accepted_in": where}


@router.get(
    "/services/{slug}/secrets",
    response={200: list[SecretOut], **errors(401, 404, 422)},
    summary="List secrets found in a service's repository",
)
@paginate(Page)
def list_secrets(request, slug: Slug, accepted: bool | None = None):
    """List the potential secrets of the last scans (masked); `accepted` filters on the baseline."""
    service = service_or_404(request, slug)
    hub = set(AcceptedSecret.objects.filter(service=service).values_list("fingerprint", flat=True))
    rows = [_secret_out(r, hub) for r in SecretFinding.objects.filter(service=service)]
    if accepted is not None:
        rows = [r for r in rows if r["accepted"] == accepted]
    return rows


@router.post(
    "/services/{slug}/secrets/{secret_id}/accept",
    response={200: SecretOut, **errors(401, 403, 404, 422)},
    summary="Accept a secret into the service's baseline",
)
def accept_secret(request, slug: Slug, secret_id: Id, payload: AcceptIn):
    """Accept a potential secret (not a real one, or revoked): it is no longer reported and its finding clears."""
    require(request, "act")
    service = service_or_404(request, slug)
    row = get_or_404(SecretFinding.objects.filter(service=service), "secret", secret_id, pk=secret_id)
    scanning.accept_secret(row, request.membership.user, payload.reason.strip())
    hub = set(AcceptedSecret.objects.filter(service=service).values_list("fingerprint", flat=True))
    return _secret_out(row, hub)


@router.post(
    "/services/{slug}/secret-scans",
    response={202: ScanOut, **errors(401, 403, 404, 422)},
    summary="Scan a service's repository for secrets",
)
def start_secret_scan(request, slug: Slug, payload: ScanIn):
    """Queue a secrets scan of the service's repository (the working tree; the history too when asked)."""
    require(request, "act")
    service = service_or_404(request, slug)
    scan = scanning.start_scan(service, history=payload.history)
    tasks.scan_service_secrets(service.pk, history=payload.history, scan_id=scan.pk)
    scan.refresh_from_db()  # done already when jobs run at once
    return Status(202, scan)


@router.get(
    "/services/{slug}/secret-scans",
    response={200: list[ScanOut], **errors(401, 404, 422)},
    summary="List secrets scans of a service",
)
@paginate(Page)
def list_secret_scans(request, slug: Slug):
    """List the service's secrets scans, newest first."""
    return SecretScan.objects.filter(service=service_or_404(request, slug))


@router.get(
    "/services/{slug}/posture",
    response={200: list[PostureOut], **errors(401, 404, 422)},
    summary="List the web posture grades of a service's HTTPS URLs",
)
@paginate(Page)
def list_posture(request, slug: Slug):
    """List the latest grade of each monitored HTTPS URL, worst first, with its reasons."""
    return PostureResult.objects.filter(service=service_or_404(request, slug)).order_by("score", "url")


@router.post(
    "/services/{slug}/posture/checks",
    response={202: PostureCheckOut, **errors(401, 403, 404, 422)},
    summary="Check the web posture of a service's HTTPS URLs now",
)
def start_posture_check(request, slug: Slug):
    """Queue a posture check of every monitored HTTPS URL of the service; answer the grades known so far."""
    require(request, "act")
    service = service_or_404(request, slug)
    tasks.probe_service_posture(service.pk)
    rows = list(PostureResult.objects.filter(service=service).order_by("score", "url"))
    return Status(202, {"items": rows, "count": len(rows)})
