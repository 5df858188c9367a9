"""Services: create and edit them, their page (findings, practices, releases, activity) and their releases."""

import re

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from .. import scorecard
from ..access import org_view
from ..models import AuditEvent, FindingEvent, Release, Service, User
from ..models.findings import State
from ..models.tenancy import slug_validator
from .listing import paginate
from .pages_findings import URGENCY

ENVIRONMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
# A git URL (https, ssh, git, file) or the scp-like form git@host:path, or a local absolute path.
REPOSITORY = re.compile(r"^(?:(?:https?|ssh|git|file)://\S+|[\w.-]+@[\w.-]+:\S+|/\S*|~/\S*)$")
ACTIVITY_LIMIT = 500


class ServiceForm(forms.ModelForm):
    environments = forms.CharField(
        required=False,
        max_length=500,
        help_text="Comma-separated, e.g. staging, production.",
    )
    owners = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The members who look after this service.",
    )

    class Meta:
        model = Service
        fields = ["name", "slug", "description", "repository", "environments", "owners"]
        help_texts = {
            "slug": "Used in addresses and the API, e.g. shop-api.",
            "repository": "A git URL (https://…, ssh://…, git@host:path) or a local path (/srv/shop).",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self.fields["slug"].validators = [slug_validator]
        self.fields["owners"].queryset = User.objects.filter(memberships__organization=org).order_by("email")
        self.fields["owners"].label_from_instance = lambda u: u.display_name
        if self.instance.pk and not self.is_bound:
            self.initial["environments"] = ", ".join(self.instance.environments or [])

    def clean_slug(self):
        slug = self.cleaned_data["slug"].strip().lower()
        taken = Service.objects.filter(organization=self.org, slug=slug).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"{self.org.name} already has a service at “{slug}”. Choose another.")
        return slug

    def clean_repository(self):
        repo = self.cleaned_data["repository"].strip()
        if repo and not REPOSITORY.match(repo):
            raise forms.ValidationError(
                "Enter a git URL (https://…, ssh://…, git@host:path) or an absolute local path (/srv/app)."
            )
        return repo

    def clean_environments(self):
        names = []
        for raw in self.cleaned_data["environments"].split(","):
            name = raw.strip()
            if not name:
                continue
            if not ENVIRONMENT.match(name):
                raise forms.ValidationError(
                    f"“{name}” is not a usable environment name: use letters, digits, dots, hyphens "
                    "and underscores, up to 50 characters."
                )
            if name not in names:
                names.append(name)
        return names

    def save(self, commit=True):
        self.instance.organization = self.org
        return super().save(commit)


@org_view("manage_services")
def service_new(request, org_slug):
    """Add a service to the organization."""
    form = ServiceForm(request.POST or None, org=request.org)
    if request.method == "POST" and form.is_valid():
        service = form.save()
        messages.success(
            request, f"Added {service.name}. Its practices show “not set up” until you set them up."
        )
        return redirect("service", org_slug, service.slug)
    return render(request, "core/services/form.html", {"form": form, "service": None})


@org_view("manage_services")
def service_edit(request, org_slug, slug):
    """Change a service's name, address, repository, environments and owners."""
    service = get_object_or_404(Service, organization=request.org, slug=slug)
    form = ServiceForm(request.POST or None, instance=service, org=request.org)
    if request.method == "POST" and form.is_valid():
        service = form.save()
        messages.success(request, f"Saved {service.name}.")
        return redirect("service", org_slug, service.slug)
    return render(request, "core/services/form.html", {"form": form, "service": service})


def _activity(service):
    """Return the service's recent finding events and audited changes, newest first."""
    events = [
        {"at": e.created, "kind": "finding", "event": e}
        for e in FindingEvent.objects.filter(finding__service=service)
        .select_related("finding", "actor")
        .order_by("-created", "-id")[:ACTIVITY_LIMIT]
    ]
    audited = AuditEvent.objects.filter(
        organization_id=service.organization_id, object_type="core.service", object_id=str(service.pk)
    ).order_by("-created", "-id")[:ACTIVITY_LIMIT]
    events += [{"at": a.created, "kind": "audit", "event": a} for a in audited]
    events.sort(key=lambda item: item["at"], reverse=True)
    return events[:ACTIVITY_LIMIT]


@org_view("view")
def service_detail(request, org_slug, slug):
    """Show one service: its open findings, practices, latest releases and recent activity."""
    service = get_object_or_404(
        Service.objects.prefetch_related("owners"), organization=request.org, slug=slug
    )
    findings = service.findings.exclude(state=State.RESOLVED).order_by(*URGENCY)
    releases = service.releases.prefetch_related("deploys")[:5]
    return render(
        request,
        "core/services/detail.html",
        {
            "service": service,
            "open_findings": findings[:50],
            "open_count": findings.count(),
            "cells": scorecard.row(service),
            "releases": releases,
            "page_obj": paginate(request, _activity(service)),
        },
    )


@org_view("view")
def service_releases(request, org_slug, slug):
    """List a service's releases with the deploys of each."""
    service = get_object_or_404(Service, organization=request.org, slug=slug)
    releases = Release.objects.filter(service=service).prefetch_related("deploys")
    return render(
        request,
        "core/services/releases.html",
        {"service": service, "page_obj": paginate(request, releases)},
    )
