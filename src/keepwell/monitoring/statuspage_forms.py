"""Forms of the team's status-page pages: pages, components, incidents and updates, Alertmanager hooks."""

from django import forms

from .models import AlertmanagerHook, Incident, StatusComponent, StatusPage


class StatusPageForm(forms.ModelForm):
    class Meta:
        model = StatusPage
        fields = ["title", "slug", "description", "published"]
        help_texts = {
            "slug": "The page is public at /status/<slug>/. Lowercase letters, digits and hyphens.",
            "description": "A line under the title, e.g. what the page covers. Shown to everyone.",
            "published": "Unpublished pages answer 404 to visitors.",
        }

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.organization = org


class ComponentForm(forms.ModelForm):
    class Meta:
        model = StatusComponent
        fields = ["name", "position", "monitors", "heartbeats"]
        help_texts = {
            "position": "Components are listed by this number, smallest first.",
            "monitors": "Its state and uptime bar come from these monitors.",
            "heartbeats": "Heartbeats count towards its state (the uptime bar shows monitors only).",
        }
        widgets = {
            "monitors": forms.SelectMultiple(attrs={"size": 10}),
            "heartbeats": forms.SelectMultiple(attrs={"size": 6}),
        }

    def __init__(self, *args, page, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.page = page
        self.fields["monitors"].queryset = page.organization.monitors.select_related("service").order_by(
            "name", "id"
        )
        self.fields["heartbeats"].queryset = page.organization.heartbeats.order_by("name", "id")


class IncidentForm(forms.ModelForm):
    body = forms.CharField(
        label="First update",
        max_length=10_000,
        widget=forms.Textarea,
        help_text="What visitors should know now: what is affected, what you are doing.",
    )

    class Meta:
        model = Incident
        fields = ["title", "status", "components"]
        widgets = {"components": forms.CheckboxSelectMultiple}

    def __init__(self, *args, page, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.page = page
        self.fields["components"].queryset = page.components.all()
        self.fields["components"].required = False

    def save(self, commit=True):
        incident = super().save(commit=True)
        incident.add_update(self.cleaned_data["status"], self.cleaned_data["body"])
        return incident


class IncidentUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=Incident.Status.choices)
    body = forms.CharField(max_length=10_000, widget=forms.Textarea, label="Update")


class HookForm(forms.ModelForm):
    class Meta:
        model = AlertmanagerHook
        fields = ["service", "name"]
        help_texts = {"service": "Firing alerts become findings of this service."}

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = org.services.order_by("name")
