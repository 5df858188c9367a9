"""The prober tokens page (/o/<org>/monitoring/probers/): list, create (the token shown once) and revoke.

Admins only (`manage_alerting`): a prober token lets a machine elsewhere check the organization's monitors.
Tokens are created and revoked through the same model functions as `keepwell prober token create`, and every
create and revoke lands in the audit log through the model signals, as from the CLI.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from keepwell.core.access import org_view

from .models import Prober
from .prober.wire import clean_location


class ProberTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        required=False,
        help_text="What your team calls this machine, e.g. “Hetzner VPS”.",
    )
    location = forms.CharField(
        max_length=100,
        help_text="Where it runs, e.g. frankfurt. Start the prober with the same --location.",
    )

    def clean_location(self):
        try:
            return clean_location(self.cleaned_data["location"])
        except ValueError as exc:
            raise forms.ValidationError(f"The location {exc}") from None


@never_cache  # the page that shows a new token must not linger in a browser's or proxy's cache
@org_view("manage_alerting")
def prober_list(request, org_slug):
    """List the organization's prober tokens; a POST creates one and shows its token this once."""
    form = ProberTokenForm(request.POST or None)
    new_prober, new_token, status = None, None, 200
    if request.method == "POST":
        if form.is_valid():
            new_prober, new_token = Prober.issue(
                request.org, form.cleaned_data["location"], name=form.cleaned_data["name"]
            )
            form, status = ProberTokenForm(), 201
        else:
            status = 400
    live_first = F("revoked_at").desc(nulls_first=True)  # the same on SQLite and PostgreSQL
    probers = Prober.objects.filter(organization=request.org).order_by(live_first, "location", "name", "id")
    return render(
        request,
        "monitoring/probers/list.html",
        {
            "probers": probers,
            "form": form,
            "new_prober": new_prober,
            "new_token": new_token,
            "base_url": settings.BASE_URL,
            "tab": "probers",
        },
        status=status,
    )


@org_view("manage_alerting")
def prober_revoke(request, org_slug, pk):
    """Ask to confirm, then (POST) revoke a prober token: the prober API refuses it from then on."""
    prober = get_object_or_404(Prober, organization=request.org, pk=pk, revoked_at=None)
    if request.method == "POST":
        prober.revoke()
        messages.success(
            request,
            f"Revoked the prober token of {prober} ({prober.prefix}…): that prober now stops with an error. "
            "Create a new token to run it again.",
        )
        return redirect("probers", org_slug)
    return render(request, "monitoring/probers/revoke.html", {"prober": prober, "tab": "probers"})
