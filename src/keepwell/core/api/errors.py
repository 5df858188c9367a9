"""Every API error answers {"detail": "..."}: what is wrong and what to do, never a 500 for bad input."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from ninja.errors import AuthenticationError, ValidationError

from ..models.tenancy import slug_validator
from .base import NO_NUL

UNAUTHORIZED = (
    "Send a valid API token as 'Authorization: Bearer <token>'. Create one on the organization's Tokens page "
    "or with `keepwell token create --email E --org SLUG`; revoked tokens, and tokens of people who left the "
    "organization, no longer work."
)

# Friendlier words for the patterns the schema uses.
PATTERN_MESSAGES = {
    NO_NUL: "may not contain NUL characters",
    slug_validator.regex.pattern: slug_validator.message,
}


def _field_error(error: dict) -> dict:
    loc = [str(part) for part in error.get("loc", ())]
    location = loc[0] if loc else "body"
    # Ninja nests the body under the view's parameter name: ("body", "payload", "name") -> "name".
    parts = loc[2:] if location == "body" and len(loc) > 2 else loc[1:]
    field = ".".join(parts) or location
    message = error.get("msg", "is not valid")
    if error.get("type") == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern")
        message = PATTERN_MESSAGES.get(pattern, message)
    elif error.get("type") == "missing":
        message = "is required"
    elif message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return {"field": field, "location": location, "message": message}


def install(api) -> None:
    """Register keepwell's error handlers on `api`."""

    @api.exception_handler(ValidationError)
    def validation_error(request, exc):
        fields = [_field_error(e) for e in exc.errors]
        detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or "The request is not valid."
        return api.create_response(request, {"detail": detail, "errors": fields}, status=422)

    @api.exception_handler(AuthenticationError)
    def unauthorized(request, exc):
        response = api.create_response(request, {"detail": UNAUTHORIZED}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="keepwell"'
        return response

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return api.create_response(request, {"detail": "Not found in this organization."}, status=404)

    @api.exception_handler(DjangoValidationError)
    def django_validation_error(request, exc):
        if hasattr(exc, "message_dict"):
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        else:
            detail = " ".join(exc.messages)
        return api.create_response(request, {"detail": detail}, status=422)

    @api.exception_handler(IntegrityError)
    def integrity_error(request, exc):
        # A race between two writers of the same unique thing: the loser hears it already exists.
        return api.create_response(
            request,
            {"detail": "That conflicts with something that already exists; fetch it and retry."},
            status=409,
        )
