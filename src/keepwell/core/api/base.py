"""What every API module shares: token authentication, role checks, pagination, field types and look-ups."""

import json
from datetime import UTC, datetime, time
from typing import Annotated, Any

from django.db import IntegrityError, transaction
from ninja import Field, Schema
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination
from ninja.security import HttpBearer
from pydantic import AfterValidator, StringConstraints, WithJsonSchema

from .. import audit, clientip
from ..models import ApiToken, Membership
from ..models.tenancy import PERMISSIONS, slug_validator

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# The largest primary key the databases store (a signed 64-bit integer); larger ids are refused up front.
MAX_ID = 2**63 - 1

# Words for the permissions in error messages ("Your role (viewer) may not manage alerting").
PERMISSION_WORDS = {
    "view": "read this organization",
    "act": "act on findings and releases",
    "manage_services": "manage services",
    "manage_alerting": "manage alerting (channels, rules, maintenance windows)",
    "manage_members": "manage members and their tokens",
    "view_audit": "read the audit log",
    "manage_owners": "manage owners",
}


class TokenAuth(HttpBearer):
    """Authenticate `Authorization: Bearer <token>`; sets request.org, request.membership and the audit actor."""

    def authenticate(self, request, token):
        row = ApiToken.authenticate(token.strip())
        if row is None:
            return None
        membership = Membership.objects.filter(organization=row.organization, user=row.user).first()
        if membership is None:
            # The user has left the organization: their tokens stop working with them.
            return None
        request.org = row.organization
        request.membership = membership
        request.token = row
        audit.set_actor(row.user, clientip.from_request(request))
        if request.method not in SAFE_METHODS and not row.write:
            raise HttpError(
                403,
                f"This token is read-only, so it may not {request.method} here. "
                "Create a read-write token (Tokens page, or `keepwell token create --write`).",
            )
        _require_json_object(request)
        return row


def _require_json_object(request) -> None:
    """Refuse a body that is not a JSON object with a clear 400 (ninja would answer a vague one, or accept it)."""
    if request.method in SAFE_METHODS or not request.body:
        return
    if (
        request.content_type.startswith("multipart/")
        or request.content_type == "application/x-www-form-urlencoded"
    ):
        return  # forms and file uploads: the endpoint reads them itself
    try:
        data = json.loads(request.body)
    except ValueError as exc:
        raise HttpError(400, f"The request body is not valid JSON ({exc}); send a JSON object.")
    if not isinstance(data, dict):
        raise HttpError(
            400, 'The request body must be a JSON object, e.g. {"name": "Shop API", "slug": "shop-api"}.'
        )


def require(request, permission: str) -> None:
    """Refuse (403) unless the token's user has `permission` in the organization."""
    if not request.membership.can(permission):
        needed = PERMISSIONS[permission].label.lower()
        raise HttpError(
            403,
            f"Your role ({request.membership.role}) may not {PERMISSION_WORDS[permission]}; "
            f"that needs the {needed} role or above. Ask an owner of {request.org.slug}.",
        )


def not_found(what: str, ident) -> HttpError:
    return HttpError(404, f"No {what} {ident} in this organization.")


def get_or_404(queryset, what: str, ident, **lookup):
    """Return the one row of `queryset` matching `lookup`, or raise a 404 naming `what` and `ident`."""
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise not_found(what, repr(ident) if isinstance(ident, str) else ident)
    return obj


def save_or_409(obj, message: str):
    """Save `obj`; answer 409 with `message` when a uniqueness rule refuses it."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise HttpError(409, message)
    return obj


def invalid(field: str, message: str) -> HttpError:
    """Return a 422 error about one field of the request body."""
    return HttpError(422, f"{field}: {message}")


class Page(LimitOffsetPagination):
    """`limit` (1-500, default 50) and `offset`; answers {"items": [...], "count": N}."""

    class Input(Schema):
        limit: int = Field(50, ge=1, le=500, description="How many items to return (1-500).")
        offset: int = Field(0, ge=0, le=2**31 - 1, description="How many items to skip.")


# --- Field types --------------------------------------------------------------------------------------
# PostgreSQL cannot store NUL characters in text; refusing them in the schema keeps them out of both
# databases and tells clients (and schemathesis) up front.
NO_NUL = r"^[^\x00]*$"


def _text(max_length: int, min_length: int = 0):
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length, pattern=NO_NUL)]


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)]
Slug = Annotated[str, StringConstraints(pattern=slug_validator.regex.pattern, max_length=50)]
Text = _text(10_000)
ShortText = _text(300)
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _sane_datetime(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2030-01-31T22:00:00Z or 2030-01-31T23:00:00+01:00")
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be between the years 1970 and 9000") from None
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be between the years 1970 and 9000")
    return value


def _local_time(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("give a local time without an offset, e.g. 22:00, and set quiet_timezone")
    return value


DateTime = Annotated[datetime, AfterValidator(_sane_datetime)]
LocalTime = Annotated[
    time,
    AfterValidator(_local_time),
    WithJsonSchema(
        {"type": "string", "format": "time", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"}
    ),
]


class Error(Schema):
    detail: str
    errors: list[dict[str, Any]] | None = None


def errors(*codes: int) -> dict[int, type]:
    """Return the response map entries for the error statuses an operation may answer (400 and 401 always)."""
    return {code: Error for code in sorted({400, 401, *codes})}


def validate_as(schema: type[Schema], data: dict):
    """Validate `data` (e.g. a stored row merged with a PATCH) with `schema`; a failure answers 422."""
    import pydantic
    from ninja.errors import ValidationError

    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError(
            [{**e, "loc": ("body", "payload", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
