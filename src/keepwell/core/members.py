"""Members of an organization: change a role, remove someone; owners guard the owner role."""

from django.db import transaction
from django.utils import timezone

from .models import ApiToken, Membership, Role


class MemberError(ValueError):
    """A change to the members that is not allowed, with a message that says why and what to do."""


def _other_owners(membership: Membership) -> int:
    # Locking the owner rows makes two owners demoting each other at once leave one owner standing.
    owners = Membership.objects.select_for_update().filter(
        organization_id=membership.organization_id, role=Role.OWNER
    )
    return sum(1 for m in owners if m.pk != membership.pk)


def change_role(actor: Membership, member: Membership, role: str) -> None:
    """Give `member` the role `role`, as `actor` (who needs manage_members) asks."""
    if role not in Role.values:
        raise MemberError(f"“{role}” is not a role. Choose owner, admin, member or viewer.")
    if role == member.role:
        return
    if (role == Role.OWNER or member.role == Role.OWNER) and not actor.can("manage_owners"):
        raise MemberError("Only owners may grant or take away the owner role.")
    with transaction.atomic():
        if member.role == Role.OWNER and not _other_owners(member):
            raise MemberError(
                f"{member.user.email} is the last owner of {member.organization}. "
                "Make someone else an owner first."
            )
        member.role = role
        member.save(update_fields=["role"])


def remove(actor: Membership, member: Membership) -> None:
    """Remove `member` from the organization and revoke their API tokens for it."""
    if member.role == Role.OWNER and not actor.can("manage_owners"):
        raise MemberError("Only owners may remove an owner.")
    with transaction.atomic():
        if member.role == Role.OWNER and not _other_owners(member):
            raise MemberError(
                f"{member.user.email} is the last owner of {member.organization}. "
                "Make someone else an owner first, or delete the organization."
            )
        # A token outlives nothing: once the person is out, so are the tokens they made here.
        ApiToken.objects.filter(
            organization_id=member.organization_id, user_id=member.user_id, revoked_at=None
        ).update(revoked_at=timezone.now())
        member.delete()
