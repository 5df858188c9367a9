"""The members page (invite, change role, remove, revoke an invitation) and the invitation link."""

import smtplib

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.db.models import Case, IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from .. import invitations
from .. import members as member_rules
from ..access import org_view
from ..forms_accounts import InviteForm, NewAccountForm, RoleForm, role_choices
from ..models import Invitation, Membership, Role, User
from ..models.tenancy import ROLE_RANK
from ..throttle import client_ip

_BY_RANK = Case(*(When(role=r, then=Value(-ROLE_RANK[r])) for r in Role), output_field=IntegerField())


def _members_page(request, invite_form=None, status=200):
    org, me = request.org, request.membership
    can_manage = me.can("manage_members")
    context = {
        "memberships": org.memberships.select_related("user").order_by(_BY_RANK, "user__email"),
        "invitations": org.invitations.filter(accepted_at=None).select_related("invited_by"),
        "can_manage": can_manage,
        "role_choices": role_choices(me.role),
        "invite_form": invite_form or (InviteForm(inviter_role=me.role) if can_manage else None),
        "may_view_audit": me.can("view_audit"),
        "now": timezone.now(),
    }
    return render(request, "core/accounts/members.html", context, status=status)


@org_view("view")
def members(request, org_slug):
    return _members_page(request)


@org_view("manage_members")
@require_POST
def invite(request, org_slug):
    form = InviteForm(request.POST, inviter_role=request.membership.role)
    if not form.is_valid():
        return _members_page(request, invite_form=form, status=400)
    email = form.cleaned_data["email"]
    try:
        invitations.invite(request.org, email, form.cleaned_data["role"], request.user)
    except invitations.InvitationError as exc:
        form.add_error("email", str(exc))
        return _members_page(request, invite_form=form, status=400)
    except (smtplib.SMTPException, OSError) as exc:
        messages.error(
            request,
            f"The invitation for {email} is saved, but the mail could not be sent ({exc}). "
            "Check the mail settings (KEEPWELL_EMAIL_*), then invite again to resend it.",
        )
        return redirect("members", org_slug)
    messages.success(
        request, f"Invitation sent to {email}. The link works for {invitations.INVITATION_DAYS} days."
    )
    return redirect("members", org_slug)


@org_view("manage_members")
@require_POST
def change_role(request, org_slug, pk):
    member = get_object_or_404(Membership.objects.select_related("user"), pk=pk, organization=request.org)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: owner, admin, member or viewer.")
        return redirect("members", org_slug)
    try:
        member_rules.change_role(request.membership, member, form.cleaned_data["role"])
    except member_rules.MemberError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{member.user.email} is now {member.get_role_display().lower()}.")
    return redirect("members", org_slug)


@org_view("manage_members")
@require_POST
def remove(request, org_slug, pk):
    member = get_object_or_404(Membership.objects.select_related("user"), pk=pk, organization=request.org)
    try:
        member_rules.remove(request.membership, member)
    except member_rules.MemberError as exc:
        messages.error(request, str(exc))
        return redirect("members", org_slug)
    if member.user_id == request.user.pk:
        messages.success(request, f"You left {request.org}.")
        return redirect("overview")
    messages.success(
        request, f"{member.user.email} is no longer a member; their API tokens here are revoked."
    )
    return redirect("members", org_slug)


@org_view("manage_members")
@require_POST
def revoke_invitation(request, org_slug, pk):
    invitation = get_object_or_404(Invitation, pk=pk, organization=request.org, accepted_at=None)
    if invitation.role == Role.OWNER and not request.membership.can("manage_owners"):
        messages.error(request, "Only owners may revoke an invitation to become owner.")
    else:
        invitation.delete()
        messages.success(
            request, f"The invitation for {invitation.email} is revoked; its link no longer works."
        )
    return redirect("members", org_slug)


@never_cache
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def accept(request, token):
    """Show an invitation and join: as the signed-in invitee, or as a new person who sets a password."""
    try:
        invitation = invitations.lookup(token)
    except invitations.InvitationError as exc:
        return render(request, "core/accounts/invitation_invalid.html", {"error": str(exc)}, status=410)
    org = invitation.organization
    context = {"invitation": invitation, "org_invited": org}
    user = request.user
    if user.is_authenticated:
        if user.email.lower() != invitation.email:
            context["error"] = (
                f"This invitation is for {invitation.email}, but you are signed in as {user.email}. "
                "Sign out, then open the link again."
            )
            return render(request, "core/accounts/invitation.html", context, status=403)
        if request.method == "POST":
            try:
                invitations.accept(invitation, user, client_ip(request))
            except invitations.InvitationError as exc:
                return render(
                    request, "core/accounts/invitation_invalid.html", {"error": str(exc)}, status=410
                )
            messages.success(request, f"Welcome to {org}.")
            return redirect("org-overview", org.slug)
        return render(request, "core/accounts/invitation.html", context)
    if User.objects.filter(email__iexact=invitation.email).exists():
        context["login_url"] = f"{reverse('login')}?{urlencode({'next': request.path})}"
        return render(request, "core/accounts/invitation.html", context)
    form = NewAccountForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            new_user = invitations.accept_as_new_user(
                invitation, form.cleaned_data["name"], form.cleaned_data["password"], client_ip(request)
            )
        except invitations.InvitationError as exc:
            form.add_error(None, str(exc))
        else:
            auth_login(request, new_user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {org}.")
            return redirect("org-overview", org.slug)
    context["form"] = form
    return render(request, "core/accounts/invitation.html", context, status=400 if form.errors else 200)
