"""Signed one-click actions from notifications: acknowledge or resolve a finding without signing in.

GET only shows what the link will do (chat apps fetch links to preview them, and GET must not change
anything); the button on that page POSTs, with the usual CSRF protection, and does it.
"""

from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .. import audit
from .. import findings as lifecycle
from ..alerting.links import LinkError, is_current, read_action
from ..models import Finding
from ..models.findings import State

VERBS = {"acknowledge": "Acknowledge", "resolve": "Resolve"}


def _actor(request, finding):
    """Return the signed-in user when they belong to the finding's organization, else None."""
    user = request.user
    if user.is_authenticated and finding.organization.memberships.filter(user=user).exists():
        return user
    return None


def _already(link, finding) -> str:
    if finding.state == State.RESOLVED:
        return "This finding is already resolved."
    if link.action == "acknowledge" and finding.state == State.ACKNOWLEDGED:
        return "This finding is already acknowledged."
    return ""


@never_cache
def finding_action(request, signed):
    """Show (GET) or perform (POST) the action a signed notification link asks for."""
    if request.method not in ("GET", "HEAD", "POST"):
        return render(
            request, "core/actions/invalid.html", {"message": "Use the button on this page."}, status=405
        )
    try:
        link = read_action(signed)
    except LinkError as exc:
        return render(
            request, "core/actions/invalid.html", {"message": str(exc)}, status=410 if exc.expired else 400
        )
    finding = Finding.objects.select_related("service", "organization").filter(pk=link.finding_id).first()
    if finding is None:
        return render(
            request, "core/actions/invalid.html", {"message": "This finding no longer exists."}, status=404
        )
    context = {"finding": finding, "link": link, "verb": VERBS[link.action], "done": ""}
    if not is_current(link, finding):
        context["message"] = (
            "This link was sent about an earlier occurrence of this finding; it has come back since. "
            "Use the link in the latest notification, or open the finding in keepwell."
        )
        return render(request, "core/actions/invalid.html", context, status=409)
    context["already"] = _already(link, finding)
    if request.method == "POST" and not context["already"]:
        actor = _actor(request, finding)
        label = "" if actor else "signed link in a notification"
        note = "from a notification link"
        if link.action == "acknowledge":
            changed = lifecycle.acknowledge(finding, actor, note)
        else:
            changed = lifecycle.resolve(finding, actor, note)
        if changed:
            audit.record(link.action, finding, actor=actor, label=label)
        finding.refresh_from_db()
        context["done"] = f"Done: the finding is {finding.get_state_display().lower()}." if changed else ""
        context["already"] = "" if changed else _already(link, finding)
    return render(request, "core/actions/confirm.html", context)
