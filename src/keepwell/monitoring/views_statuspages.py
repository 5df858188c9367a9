"""The team's side of status pages (/o/<org>/status-pages/): pages, components, incidents, Alertmanager hooks.

Everyone in the organization may look. Members (`manage_services`) shape pages and hooks; posting incidents
and their updates needs `act`.
"""

from django.contrib import messages
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from keepwell.core.access import org_view

from . import history, statuspage_state
from .models import AlertmanagerHook, Incident, IncidentUpdate, StatusComponent, StatusPage
from .statuspage_forms import ComponentForm, HookForm, IncidentForm, IncidentUpdateForm, StatusPageForm
from .views_public import bar_svg


def _page(request, pk) -> StatusPage:
    return get_object_or_404(StatusPage, organization=request.org, pk=pk)


def _form_page(request, form, title, cancel):
    return render(
        request, "monitoring/statuspages/form.html", {"form": form, "title": title, "cancel": cancel}
    )


# --- Pages ----------------------------------------------------------------------------------------------


@org_view("view")
def page_list(request, org_slug):
    """List the organization's status pages."""
    pages = request.org.status_pages.annotate(n_components=Count("components", distinct=True)).order_by(
        "title", "id"
    )
    return render(request, "monitoring/statuspages/list.html", {"pages": pages, "tab": "pages"})


@org_view("manage_services")
def page_new(request, org_slug):
    form = StatusPageForm(request.POST or None, org=request.org)
    if request.method == "POST" and form.is_valid():
        page = form.save()
        messages.success(request, f"Created the status page “{page}”. Add components to show on it.")
        return redirect("statuspage", org_slug, page.pk)
    return _form_page(request, form, "New status page", "statuspages")


@org_view("view")
def page_detail(request, org_slug, pk):
    """Show a page's components and incidents, with links to change them."""
    page = _page(request, pk)
    components = list(page.components.prefetch_related("monitors", "heartbeats"))
    uptime_days = history.components_daily_uptime(components, days=90)
    for component in components:
        days = uptime_days[component.pk]
        component.bar = bar_svg(component.name, days)
        component.uptime = statuspage_state.overall_uptime(days)
    incidents = page.incidents.prefetch_related(
        Prefetch("updates", queryset=IncidentUpdate.objects.order_by("-created", "-id"))
    )[:50]
    return render(
        request,
        "monitoring/statuspages/detail.html",
        {"page": page, "components": components, "incidents": incidents, "tab": "pages"},
    )


@org_view("manage_services")
def page_edit(request, org_slug, pk):
    page = _page(request, pk)
    form = StatusPageForm(request.POST or None, instance=page, org=request.org)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved the status page “{page}”.")
        return redirect("statuspage", org_slug, page.pk)
    return _form_page(request, form, f"Edit the status page “{page}”", "statuspages")


def _confirm_delete(request, obj, noun, back, warning=""):
    if request.method == "POST":
        label = str(obj)
        obj.delete()
        messages.success(request, f"Deleted the {noun} “{label}”.")
        return redirect(*back)
    return render(
        request,
        "monitoring/statuspages/delete.html",
        {"object": obj, "noun": noun, "back": back, "warning": warning},
    )


@org_view("manage_services")
def page_delete(request, org_slug, pk):
    page = _page(request, pk)
    return _confirm_delete(
        request,
        page,
        "status page",
        ("statuspages", org_slug),
        "Its components and incidents go with it, and its public address answers 404.",
    )


# --- Components -----------------------------------------------------------------------------------------


@org_view("manage_services")
def component_new(request, org_slug, pk):
    page = _page(request, pk)
    form = ComponentForm(request.POST or None, page=page)
    if request.method == "POST" and form.is_valid():
        component = form.save()
        messages.success(request, f"Added the component “{component}”.")
        return redirect("statuspage", org_slug, page.pk)
    return _form_page(request, form, f"Add a component to “{page}”", "statuspages")


@org_view("manage_services")
def component_edit(request, org_slug, pk, component_pk):
    page = _page(request, pk)
    component = get_object_or_404(StatusComponent, page=page, pk=component_pk)
    form = ComponentForm(request.POST or None, instance=component, page=page)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Saved the component “{component}”.")
        return redirect("statuspage", org_slug, page.pk)
    return _form_page(request, form, f"Edit the component “{component}”", "statuspages")


@org_view("manage_services")
def component_delete(request, org_slug, pk, component_pk):
    page = _page(request, pk)
    component = get_object_or_404(StatusComponent, page=page, pk=component_pk)
    return _confirm_delete(request, component, "component", ("statuspage", org_slug, page.pk))


# --- Incidents ------------------------------------------------------------------------------------------


@org_view("act")
def incident_new(request, org_slug, pk):
    page = _page(request, pk)
    form = IncidentForm(request.POST or None, page=page)
    if request.method == "POST" and form.is_valid():
        incident = form.save()
        messages.success(request, f"Posted the incident “{incident}” on {page.public_url}.")
        return redirect("statuspage-incident", org_slug, page.pk, incident.pk)
    return _form_page(request, form, f"Post an incident on “{page}”", "statuspages")


def _incident(request, pk, incident_pk) -> Incident:
    return get_object_or_404(Incident, page__organization=request.org, page_id=pk, pk=incident_pk)


@org_view("view")
def incident_detail(request, org_slug, pk, incident_pk):
    """Show an incident's updates, with the form to post the next one."""
    incident = _incident(request, pk, incident_pk)
    form = IncidentUpdateForm(initial={"status": incident.status})
    return render(
        request,
        "monitoring/statuspages/incident.html",
        {
            "page": incident.page,
            "incident": incident,
            "form": form,
            "updates": incident.updates.all(),
            "tab": "pages",
        },
    )


@org_view("act")
@require_POST
def incident_update(request, org_slug, pk, incident_pk):
    """Post a timed update; the incident takes its status."""
    incident = _incident(request, pk, incident_pk)
    form = IncidentUpdateForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "monitoring/statuspages/incident.html",
            {
                "page": incident.page,
                "incident": incident,
                "form": form,
                "updates": incident.updates.all(),
                "tab": "pages",
            },
            status=400,
        )
    incident.add_update(form.cleaned_data["status"], form.cleaned_data["body"])
    messages.success(
        request, f"Posted the update; the incident is now {incident.get_status_display().lower()}."
    )
    return redirect("statuspage-incident", org_slug, pk, incident.pk)


@org_view("act")
def incident_delete(request, org_slug, pk, incident_pk):
    incident = _incident(request, pk, incident_pk)
    return _confirm_delete(request, incident, "incident", ("statuspage", org_slug, pk))


# --- Alertmanager hooks ---------------------------------------------------------------------------------


@org_view("view")
def hook_list(request, org_slug):
    """List the Alertmanager hooks (their tokens are never shown again)."""
    hooks = AlertmanagerHook.objects.filter(organization=request.org).select_related("service")
    return render(request, "monitoring/statuspages/hooks.html", {"hooks": hooks, "tab": "hooks"})


@org_view("manage_services")
def hook_new(request, org_slug):
    """Create a hook and show its URL, with the token, this once."""
    form = HookForm(request.POST or None, org=request.org)
    if request.method == "POST" and form.is_valid():
        hook, token = AlertmanagerHook.issue(form.cleaned_data["service"], form.cleaned_data["name"])
        response = render(
            request,
            "monitoring/statuspages/hook_created.html",
            {"hook": hook, "url": AlertmanagerHook.url_for(token), "tab": "hooks"},
        )
        response["Cache-Control"] = "no-store"  # the token must not linger in a browser's cache
        return response
    return _form_page(request, form, "New Alertmanager hook", "statuspage-hooks")


@org_view("manage_services")
def hook_delete(request, org_slug, pk):
    hook = get_object_or_404(AlertmanagerHook, organization=request.org, pk=pk)
    return _confirm_delete(
        request,
        hook,
        "Alertmanager hook",
        ("statuspage-hooks", org_slug),
        "Alertmanager's posts to its URL will be answered 404 from now on.",
    )
