"""The endpoints a remote prober uses: lease due checks, report results, give back unstarted checks.

They authenticate with a prober token (`keepwell prober token create`), not a person's API token: the token
names an organization and a location, and the prober sees and checks that organization's monitors only.
"""

from datetime import timedelta
from typing import Annotated

from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.security import HttpBearer
from pydantic import StringConstraints

from keepwell.core.api.base import NO_NUL, DateTime, Id, errors

from .models import Prober
from .prober import leases
from .prober.wire import Outcome, assignment_to_json

UNAUTHORIZED = (
    "Send a prober token as 'Authorization: Bearer <token>'. Create one with "
    "`keepwell prober token create --org SLUG --location NAME` or on the organization's Monitoring → Probers "
    "page; an API token of a person does not work here."
)


class ProberAuth(HttpBearer):
    """Authenticate a remote prober's token; sets request.prober."""

    def authenticate(self, request, token):
        prober = Prober.authenticate(token.strip())
        if prober is None:
            raise HttpError(401, UNAUTHORIZED)
        request.prober = prober
        return prober


router = Router(tags=["probers"], auth=ProberAuth())

Location = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=NO_NUL)
]


class LeaseIn(Schema):
    location: Location | None = Field(None, description="The location the prober was started with.")
    limit: int = Field(200, ge=1, le=1000, description="How many checks to lease at most.")
    horizon: float = Field(2.0, ge=0, le=30, description="Lease checks due within this many seconds.")


class AssignmentOut(Schema):
    id: int
    kind: str
    target: str
    config: dict
    timeout: float
    interval: int
    due: str


class LeaseOut(Schema):
    location: str
    items: list[AssignmentOut]
    count: int


class ResultIn(Schema):
    id: Id
    ok: bool
    due: DateTime
    started: DateTime
    latency_ms: int | None = Field(None, ge=0, le=86_400_000)
    status_code: int | None = Field(None, ge=0, le=999)
    error: Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)] = ""


class ResultsIn(Schema):
    location: Location | None = None
    results: list[ResultIn] = Field(..., max_length=1000)


class ResultsOut(Schema):
    recorded: int
    ignored: int


class ReleaseIn(Schema):
    location: Location | None = None
    ids: list[Id] = Field(..., max_length=1000)


class ReleaseOut(Schema):
    released: int


def _prober(request, location: str | None) -> Prober:
    prober = request.prober
    if location is not None and location != prober.location:
        raise HttpError(
            409,
            f"This token belongs to the prober at {prober.location!r}, not {location!r}. Start the prober "
            f"with --location {prober.location}, or create a token for {location!r}.",
        )
    return prober


def _owner(prober: Prober) -> str:
    # Not the location: a 100-character name would not fit in lease_owner with anything added.
    return f"prober#{prober.pk}"


@router.post("/prober/lease", response={200: LeaseOut, **errors(401, 409, 422)}, summary="Lease due checks")
def lease(request, payload: LeaseIn):
    """Lease the checks of this prober's organization that are due soon at its location."""
    prober = _prober(request, payload.location)
    items = leases.claim(
        _owner(prober),
        location=prober.location,
        organization=prober.organization,
        limit=payload.limit,
        horizon=payload.horizon,
    )
    return {"location": prober.location, "items": [assignment_to_json(a) for a in items], "count": len(items)}


@router.post("/prober/results", response={200: ResultsOut, **errors(401, 409, 422)}, summary="Report results")
def results(request, payload: ResultsIn):
    """Record the results of leased checks; results for checks this prober does not hold are ignored."""
    prober = _prober(request, payload.location)
    now = timezone.now()
    outcomes = {}
    for r in payload.results:
        # The hub's clock decides: a start in the future or long ago (a skewed clock) counts as now.
        started = r.started if now - timedelta(hours=1) <= r.started <= now else now
        outcomes[r.id] = Outcome(
            id=r.id,
            ok=r.ok,
            due=r.due,
            started=started,
            latency_ms=r.latency_ms,
            status_code=r.status_code,
            error=r.error,
        )
    recorded = leases.complete(
        _owner(prober), list(outcomes.values()), location=prober.location, organization=prober.organization
    )
    return {"recorded": recorded, "ignored": len(payload.results) - recorded}


@router.post(
    "/prober/release", response={200: ReleaseOut, **errors(401, 409, 422)}, summary="Give back checks"
)
def release(request, payload: ReleaseIn):
    """Give back leased checks this prober will not run (it is stopping), so others run them at once."""
    prober = _prober(request, payload.location)
    released = leases.release(
        _owner(prober), payload.ids, location=prober.location, organization=prober.organization
    )
    return {"released": released}
