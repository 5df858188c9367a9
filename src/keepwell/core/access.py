"""Who may see and do what: every page and API call is scoped to one organization the user belongs to."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from .models import Membership


def membership_for(user, org_slug) -> Membership | None:
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(user=user, organization__slug=org_slug)
        .select_related("organization")
        .first()
    )


def org_view(permission="view"):
    """Decorate a view taking (request, org_slug, ...): sets request.org and request.membership.

    Not signed in: redirect to sign in. Not a member: 404 (the organization's existence is not revealed).
    A member whose role lacks `permission`: 403.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, org_slug, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_for(request.user, org_slug)
            if membership is None:
                raise Http404("No such organization.")
            if not membership.can(permission):
                raise PermissionDenied(f"Your role ({membership.role}) may not do this.")
            request.org = membership.organization
            request.membership = membership
            return view(request, org_slug, *args, **kwargs)

        wrapper.keepwell_permission = permission
        return wrapper

    return decorator
