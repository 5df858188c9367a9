"""The API tokens page: create (shown once), list and revoke tokens of one organization."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ..access import org_view
from ..forms_accounts import TokenForm
from ..models import ApiToken


def _visible_tokens(request):
    """Return the live tokens the member may see: their own, or all of the organization's for admins."""
    tokens = ApiToken.objects.filter(organization=request.org, revoked_at=None).select_related("user")
    if not request.membership.can("manage_members"):
        tokens = tokens.filter(user=request.user)
    return tokens


@never_cache
@org_view("view")
def tokens(request, org_slug):
    may_write = request.membership.can("act")
    form = TokenForm(request.POST or None, may_write=may_write)
    new_token = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            row, new_token = ApiToken.issue(
                request.org,
                request.user,
                write=form.cleaned_data["scope"] == "write",
                name=form.cleaned_data["name"],
            )
            form = TokenForm(may_write=may_write)
            status = 201
        else:
            status = 400
    context = {
        "tokens": _visible_tokens(request),
        "form": form,
        "new_token": new_token,
        "sees_all": request.membership.can("manage_members"),
        "may_view_audit": request.membership.can("view_audit"),
    }
    return render(request, "core/accounts/tokens.html", context, status=status)


@org_view("view")
@require_POST
def revoke(request, org_slug, pk):
    token = get_object_or_404(_visible_tokens(request), pk=pk)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    messages.success(request, f"The token {token.prefix}… is revoked; calls with it now get 401.")
    return redirect("tokens", org_slug)
