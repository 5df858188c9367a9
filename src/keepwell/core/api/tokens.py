"""GET /me (who the token speaks for) and the organization's API tokens."""

from datetime import datetime

from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from ..models import ApiToken
from .base import Id, Page, errors, get_or_404, require

router = Router(tags=["tokens"])


class OrganizationOut(Schema):
    slug: str
    name: str


class UserOut(Schema):
    email: str
    name: str


class MeOut(Schema):
    organization: OrganizationOut
    user: UserOut
    role: str
    scope: str
    token_prefix: str


@router.get("/me", response={200: MeOut, **errors(401)}, summary="Who this token speaks for")
def me(request):
    """Return the token's organization, user, role and scope."""
    token = request.token
    return {
        "organization": token.organization,
        "user": token.user,
        "role": request.membership.role,
        "scope": token.scope,
        "token_prefix": token.prefix,
    }


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    scope: str
    user: str
    created: datetime
    last_used: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def resolve_user(obj):
        return obj.user.email


def _visible_tokens(request):
    tokens = ApiToken.objects.filter(organization=request.org).select_related("user")
    # Admins see everyone's tokens; others only their own.
    if not request.membership.can("manage_members"):
        tokens = tokens.filter(user=request.membership.user)
    return tokens.order_by("-created", "-id")


@router.get("/tokens", response={200: list[TokenOut], **errors(401, 422)}, summary="List API tokens")
@paginate(Page)
def list_tokens(request):
    """List your tokens in this organization (admins: everyone's), newest first."""
    return _visible_tokens(request)


@router.delete("/tokens/{id}", response={204: None, **errors(401, 403, 404, 422)}, summary="Revoke a token")
def revoke_token(request, id: Id):
    """Revoke a token (your own, or anyone's when you may manage members); it stops working at once."""
    token = get_or_404(_visible_tokens(request), "token", id, pk=id)
    if token.user_id != request.membership.user_id:
        require(request, "manage_members")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return Status(204, None)
