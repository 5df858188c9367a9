"""Invitations: an admin invites an email with a role; the link in the mail lets that person join."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from . import audit
from .models import Invitation, Membership, Role, User
from .models.tokens import hash_token

INVITATION_DAYS = 7


class InvitationError(ValueError):
    """An invitation that cannot be made or used, with a message that says what to do."""


def accept_url(token: str) -> str:
    return settings.BASE_URL + reverse("invite-accept", args=[token])


def invite(organization, email: str, role: str, invited_by: User) -> Invitation:
    """Invite `email` to `organization` with `role` and mail the link; replaces an earlier open invitation."""
    email = email.strip().lower()
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise InvitationError(f"{email} is already a member of {organization}. Change their role instead.")
    if role == Role.OWNER and organization.role_of(invited_by) != Role.OWNER:
        raise InvitationError("Only owners may invite owners. Invite as admin, or ask an owner.")
    with transaction.atomic():
        organization.invitations.filter(email=email, accepted_at=None).delete()
        invitation, token = Invitation.issue(organization, email, role, invited_by, days=INVITATION_DAYS)
    context = {
        "invitation": invitation,
        "organization": organization,
        "inviter": invited_by,
        "url": accept_url(token),
        "site_name": settings.SITE_NAME,
    }
    send_mail(
        f"{invited_by.display_name} invites you to {organization} on {settings.SITE_NAME}",
        render_to_string("core/accounts/invitation_email.txt", context),
        settings.DEFAULT_FROM_EMAIL,
        [email],
    )
    return invitation


def lookup(token: str) -> Invitation:
    """Return the open invitation for `token`, or raise InvitationError saying why it cannot be used."""
    invitation = (
        Invitation.objects.filter(token_hash=hash_token(token or "")).select_related("organization").first()
    )
    if invitation is None:
        raise InvitationError(
            "This invitation link is not valid: it may have been replaced by a newer invitation or revoked. "
            "Ask the person who invited you to send a new one."
        )
    if invitation.accepted_at is not None:
        raise InvitationError(
            f"This invitation to {invitation.organization} has been used already. Sign in to reach it."
        )
    if invitation.expires <= timezone.now():
        raise InvitationError(
            f"This invitation to {invitation.organization} expired on {invitation.expires:%Y-%m-%d}. "
            "Ask an admin of the organization to invite you again."
        )
    return invitation


def accept(invitation: Invitation, user: User, ip: str | None = None) -> Membership:
    """Make `user` a member as the invitation says; each invitation works once, for its own email only."""
    if user.email.lower() != invitation.email.lower():
        raise InvitationError(
            f"This invitation is for {invitation.email}, but you are signed in as {user.email}. "
            "Sign out, then open the link again."
        )
    with transaction.atomic(), audit.acting_as(user, ip):
        # The conditional update lets only one of two simultaneous accepts through.
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at=None, expires__gt=timezone.now()
        ).update(accepted_at=timezone.now())
        if not claimed:
            raise InvitationError("This invitation has been used already or has expired.")
        membership, created = Membership.objects.get_or_create(
            organization=invitation.organization, user=user, defaults={"role": invitation.role}
        )
        audit.record("accept_invitation", invitation, changes={"role": invitation.role})
    return membership


def accept_as_new_user(invitation: Invitation, name: str, password: str, ip: str | None = None) -> User:
    """Create the account of an invited person who has none, and make them a member."""
    try:
        with transaction.atomic():
            if User.objects.filter(email__iexact=invitation.email).exists():
                raise IntegrityError
            user = User.objects.create_user(invitation.email, password, name=name.strip())
            accept(invitation, user, ip)
    except IntegrityError:
        raise InvitationError(
            f"An account for {invitation.email} exists already. Sign in, then open the link again."
        ) from None
    return user
