"""The front door: pick or create an organization, and the overview grid of services × practices."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Q
from django.shortcuts import redirect, render

from .. import scorecard
from ..access import org_view
from ..models import Membership, Organization, Role
from ..models.findings import State
from ..models.tenancy import slug_validator
from .listing import paginate, search


@login_required
def home(request):
    """Send the user to their first organization, or to create one."""
    first = request.user.memberships.select_related("organization").order_by("organization__name").first()
    if first is None:
        return redirect("org-new")
    return redirect("org-overview", first.organization.slug)


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Your team or company, e.g. Acme.")
    slug = forms.CharField(
        max_length=50,
        validators=[slug_validator],
        help_text="Used in addresses, e.g. acme. Lowercase letters, digits and hyphens.",
    )

    def clean_slug(self):
        slug = self.cleaned_data["slug"].strip().lower()
        if Organization.objects.filter(slug=slug).exists():
            raise forms.ValidationError(f"The address “{slug}” is taken. Choose another.")
        return slug


@login_required
def org_new(request):
    """Create an organization; its creator becomes its owner."""
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            org = Organization.objects.create(name=form.cleaned_data["name"], slug=form.cleaned_data["slug"])
            Membership.objects.create(organization=org, user=request.user, role=Role.OWNER)
        return redirect("org-overview", org.slug)
    first = not request.user.memberships.exists()
    return render(request, "core/overview/org_new.html", {"form": form, "first": first})


@org_view("view")
def org_overview(request, org_slug):
    """Show the scorecard grid: every service against every practice, with its open findings."""
    services = request.org.services.annotate(
        open_findings=Count("findings", filter=~Q(findings__state=State.RESOLVED))
    ).order_by("name")
    total = services.count()
    services, q = search(services, request, "name", "slug", "description")
    page = paginate(request, services)
    rows = [{"service": s, "cells": scorecard.row(s)} for s in page.object_list]
    return render(
        request,
        "core/overview/org_overview.html",
        {
            "rows": rows,
            "page_obj": page,
            "q": q,
            "total": total,
            "practices": scorecard.PRACTICES,
            "states": [(s, s.capitalize()) for s in scorecard.STATES],
        },
    )
