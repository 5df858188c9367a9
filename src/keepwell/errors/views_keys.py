"""DSN keys on the web: the services with their keys, and a service's keys page (create, change, revoke)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from keepwell.core.access import org_view
from keepwell.core.models import Service

from .models import Dsn


class DsnForm(forms.Form):
    label = forms.CharField(max_length=200, required=False, help_text="Where the key is used, e.g. browser.")
    rate_limit = forms.IntegerField(
        min_value=0, max_value=10_000_000, help_text="Envelopes a minute; 0 means no limit."
    )


@org_view("view")
def key_index(request, org_slug):
    """List the organization's services with how many active DSN keys each has."""
    services = (
        Service.objects.filter(organization=request.org)
        .annotate(active_keys=Count("dsns", filter=Q(dsns__active=True)))
        .order_by("name", "id")
    )
    return render(request, "errors/keys_index.html", {"services": services})


def _service(request, service_slug) -> Service:
    return get_object_or_404(Service, organization=request.org, slug=service_slug)


@org_view("view")
def service_keys(request, org_slug, service_slug):
    """Show a service's DSN keys with the DSN to copy, and the form to add one."""
    service = _service(request, service_slug)
    keys = Dsn.objects.filter(organization=request.org, service=service).order_by("-active", "created", "id")
    form = DsnForm(initial={"rate_limit": settings.ERRORS_RATE_LIMIT})
    return render(request, "errors/keys.html", {"service": service, "keys": keys, "form": form})


@org_view("manage_services")
@require_POST
def key_create(request, org_slug, service_slug):
    """Create a DSN key for the service."""
    service = _service(request, service_slug)
    form = DsnForm(request.POST)
    if not form.is_valid():
        keys = Dsn.objects.filter(organization=request.org, service=service).order_by("-active", "created")
        return render(
            request, "errors/keys.html", {"service": service, "keys": keys, "form": form}, status=400
        )
    dsn = Dsn.issue(
        service, label=form.cleaned_data["label"].strip(), rate_limit=form.cleaned_data["rate_limit"]
    )
    messages.success(request, f"Created a DSN key for {service.name}: give its DSN to your Sentry SDK.")
    return redirect(reverse("errors-service-keys", args=[org_slug, service_slug]) + f"#key-{dsn.pk}")


def _key(request, service_slug, dsn_id) -> Dsn:
    return get_object_or_404(Dsn, organization=request.org, service__slug=service_slug, pk=dsn_id)


@org_view("manage_services")
@require_POST
def key_edit(request, org_slug, service_slug, dsn_id):
    """Change a key's label and rate limit."""
    dsn = _key(request, service_slug, dsn_id)
    form = DsnForm(request.POST)
    if form.is_valid():
        dsn.label = form.cleaned_data["label"].strip()
        dsn.rate_limit = form.cleaned_data["rate_limit"]
        dsn.save(update_fields=["label", "rate_limit"])
        messages.success(request, f"Saved {dsn.label or 'the key'}.")
    else:
        problems = "; ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())
        messages.error(request, f"Not saved: {problems}")
    return redirect("errors-service-keys", org_slug, service_slug)


@org_view("manage_services")
@require_POST
def key_revoke(request, org_slug, service_slug, dsn_id):
    """Revoke a key: SDKs sending with it are refused from now on."""
    dsn = _key(request, service_slug, dsn_id)
    dsn.revoke()
    messages.success(
        request, f"Revoked {dsn.label or dsn.public_key[:8]}: events sent with it are now refused."
    )
    return redirect("errors-service-keys", org_slug, service_slug)
