"""Alerting pages: channels (with "Send test"), routing rules, maintenance windows and the delivery log.

Everyone in the organization may look; only roles with `manage_alerting` may change anything.
"""

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import audit
from ..access import org_view
from ..models import Channel, Delivery, MaintenanceWindow, Notification, RoutingRule
from .listing import paginate, search
from .pages_alerting_forms import ChannelForm, MaintenanceWindowForm, RoutingRuleForm

KINDS = {
    "channel": (Channel, ChannelForm, "channels", "channel"),
    "rule": (RoutingRule, RoutingRuleForm, "rules", "routing rule"),
    "maintenance": (MaintenanceWindow, MaintenanceWindowForm, "maintenance", "maintenance window"),
}


def _edit(request, kind, pk=None):
    """Create (pk None) or change one alerting object of the organization with its form."""
    model, form_class, list_name, noun = KINDS[kind]
    instance = get_object_or_404(model, organization=request.org, pk=pk) if pk else None
    form = form_class(request.POST or None, instance=instance, org=request.org)
    if request.method == "POST" and form.is_valid():
        obj = form.save()
        messages.success(request, f"Saved the {noun} “{obj}”.")
        return redirect(list_name, request.org.slug)
    return render(
        request,
        "core/alerting/form.html",
        {"form": form, "object": instance, "noun": noun, "list_name": list_name, "section": list_name},
    )


def _delete(request, kind, pk):
    """Ask before deleting one alerting object (GET), and delete it (POST)."""
    model, _, list_name, noun = KINDS[kind]
    obj = get_object_or_404(model, organization=request.org, pk=pk)
    if request.method == "POST":
        label = str(obj)
        obj.delete()
        messages.success(request, f"Deleted the {noun} “{label}”.")
        return redirect(list_name, request.org.slug)
    return render(
        request,
        "core/alerting/delete.html",
        {"object": obj, "noun": noun, "list_name": list_name, "section": list_name},
    )


# --- Channels -------------------------------------------------------------------------------------------


@org_view("view")
def channels(request, org_slug):
    """List the organization's channels with their targets masked."""
    qs, q = search(request.org.channels.all(), request, "name")
    return render(
        request,
        "core/alerting/channels.html",
        {"page_obj": paginate(request, qs), "q": q, "section": "channels"},
    )


@org_view("manage_alerting")
def channel_new(request, org_slug):
    return _edit(request, "channel")


@org_view("manage_alerting")
def channel_edit(request, org_slug, pk):
    return _edit(request, "channel", pk)


@org_view("manage_alerting")
def channel_delete(request, org_slug, pk):
    return _delete(request, "channel", pk)


@org_view("manage_alerting")
@require_POST
def channel_test(request, org_slug, pk):
    """Send a test notification through a channel now and say whether it arrived."""
    from ..alerting import send_test

    channel = get_object_or_404(Channel, organization=request.org, pk=pk)
    notification = send_test(channel)
    audit.record("send_test", channel, changes={"status": notification.status})
    if request.htmx:
        return render(
            request, "core/alerting/_test_result.html", {"channel": channel, "notification": notification}
        )
    if notification.status == Notification.Status.SENT:
        messages.success(request, f"Sent a test notification to “{channel}”.")
    else:
        messages.error(request, f"The test notification to “{channel}” failed: {notification.last_error}")
    return redirect("channels", org_slug)


# --- Routing rules --------------------------------------------------------------------------------------


@org_view("view")
def rules(request, org_slug):
    """List the routing rules: which findings go to which channels, when."""
    qs = request.org.routing_rules.select_related("service").prefetch_related(
        "channels", "escalation_channels"
    )
    return render(
        request,
        "core/alerting/rules.html",
        {
            "page_obj": paginate(request, qs),
            "has_channels": request.org.channels.exists(),
            "section": "rules",
        },
    )


@org_view("manage_alerting")
def rule_new(request, org_slug):
    return _edit(request, "rule")


@org_view("manage_alerting")
def rule_edit(request, org_slug, pk):
    return _edit(request, "rule", pk)


@org_view("manage_alerting")
def rule_delete(request, org_slug, pk):
    return _delete(request, "rule", pk)


# --- Maintenance windows --------------------------------------------------------------------------------


@org_view("view")
def maintenance(request, org_slug):
    """List maintenance windows, the active ones marked."""
    now = timezone.now()
    page = paginate(request, request.org.maintenance_windows.select_related("service").order_by("-starts_at"))
    for window in page.object_list:
        window.active_now = window.is_active(now)
    return render(request, "core/alerting/maintenance.html", {"page_obj": page, "section": "maintenance"})


@org_view("manage_alerting")
def maintenance_new(request, org_slug):
    return _edit(request, "maintenance")


@org_view("manage_alerting")
def maintenance_edit(request, org_slug, pk):
    return _edit(request, "maintenance", pk)


@org_view("manage_alerting")
def maintenance_delete(request, org_slug, pk):
    return _delete(request, "maintenance", pk)


# --- Delivery log ---------------------------------------------------------------------------------------


@org_view("view")
def notifications(request, org_slug):
    """List the notifications sent (or trying to be) with each delivery attempt."""
    qs = Notification.objects.filter(organization=request.org).select_related("channel")
    chosen = {"status": request.GET.get("status", ""), "channel": request.GET.get("channel", "")}
    if chosen["status"] in Notification.Status.values:
        qs = qs.filter(status=chosen["status"])
    else:
        chosen["status"] = ""
    if chosen["channel"].isdigit() and len(chosen["channel"]) < 19:
        qs = qs.filter(channel_id=int(chosen["channel"]))
    else:
        chosen["channel"] = ""
    qs, q = search(qs, request, "subject")
    qs = qs.prefetch_related(
        Prefetch("deliveries", queryset=Delivery.objects.order_by("-attempted_at", "-id")), "findings"
    )
    return render(
        request,
        "core/alerting/notifications.html",
        {
            "page_obj": paginate(request, qs),
            "q": q,
            "chosen": chosen,
            "statuses": Notification.Status.choices,
            "channels": request.org.channels.all(),
            "section": "notifications",
        },
    )
