"""The audit log page: the organization's changes and its members' sign-ins, filtered and searched."""

from django.db.models import Q
from django.shortcuts import render

from ..access import org_view
from ..models import AuditEvent, Membership
from .listing import paginate, search

SIGN_IN_ACTIONS = ("login", "logout", "login_failed")


def events_for(org):
    """Return the audit events an admin of `org` may read, newest first."""
    members = Membership.objects.filter(organization=org)
    return AuditEvent.objects.filter(
        Q(organization=org)
        # Sign-ins and account changes belong to no organization; show those of this one's members (but not
        # the deletion of another organization, also kept without one).
        | (Q(organization=None, actor__in=members.values("user_id")) & ~Q(object_type="core.organization"))
        | Q(
            organization=None,
            actor=None,
            action="login_failed",
            actor_label__in=members.values("user__email"),
        )
    ).select_related("actor")


@org_view("view_audit")
def audit_log(request, org_slug):
    events = events_for(request.org)
    actions = sorted(set(events.order_by().values_list("action", flat=True).distinct()))
    action = request.GET.get("action", "")
    if action:
        events = events.filter(action=action)
    actor = request.GET.get("actor", "")
    if actor:
        events = events.filter(actor_label__iexact=actor.strip()[:254])
    events, q = search(events, request, "actor_label", "action", "object_type", "object_repr", "ip")
    context = {
        "page_obj": paginate(request, events),
        "q": q,
        "actions": actions,
        "action": action,
        "actor": actor,
        "may_view_audit": True,
        "people": Membership.objects.filter(organization=request.org)
        .select_related("user")
        .order_by("user__email"),
    }
    return render(request, "core/accounts/audit.html", context)
