"""Forms of the alerting pages: channels, routing rules and maintenance windows, scoped to one organization."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from ..models import Channel, MaintenanceWindow, RoutingRule


class ChannelForm(forms.ModelForm):
    # Not a model field here: the stored target is a secret and is never put back into the page.
    target = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    class Meta:
        model = Channel
        fields = ["name", "kind", "enabled"]
        help_texts = {"enabled": "Disabled channels receive nothing, not even escalations."}

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        if self.instance.pk:
            now = self.instance.masked_target or "not set"
            self.fields[
                "target"
            ].help_text = f"Now: {now}. Leave empty to keep it, or enter a new one to replace it."
        else:
            self.fields["target"].help_text = (
                "An Apprise URL (slack://…, discord://…, tgram://…, ntfys://…), a webhook URL (https://…), "
                "or for email a comma-separated list of addresses (empty: every member)."
            )

    def clean(self):
        from ..alerting import validate_target

        data = super().clean()
        kind = data.get("kind")
        target = (data.get("target") or "").strip()
        if self.instance.pk and not target and kind == self.instance.kind:
            target = Channel.objects.get(pk=self.instance.pk).target
        if kind:
            try:
                self.instance.target = validate_target(kind, target)
            except ValidationError as exc:
                self.add_error("target", exc)
        return data

    def _post_clean(self):
        # The model's clean() validates the target again; skip it when the field already has an error.
        if "target" in self.errors:
            return
        super()._post_clean()

    def save(self, commit=True):
        self.instance.organization = self.org
        return super().save(commit)


class RoutingRuleForm(forms.ModelForm):
    escalate_after_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=60 * 24 * 30,
        label="Escalate after (minutes)",
        help_text="While a finding stays unacknowledged this long, notify the escalation channels too.",
    )
    renotify_minutes = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=60 * 24 * 30,
        label="Remind every (minutes)",
        help_text="Repeat the notification while the finding stays open. Empty: no reminders.",
    )

    class Meta:
        model = RoutingRule
        fields = [
            "name",
            "service",
            "min_severity",
            "channels",
            "escalation_channels",
            "group_window",
            "quiet_start",
            "quiet_end",
            "quiet_timezone",
            "notify_on_resolve",
            "enabled",
        ]
        labels = {
            "service": "Service",
            "min_severity": "Lowest severity",
            "group_window": "Group window (seconds)",
            "quiet_start": "Quiet hours start",
            "quiet_end": "Quiet hours end",
            "quiet_timezone": "Quiet hours time zone",
        }
        help_texts = {
            "service": "Leave empty for findings of every service.",
            "min_severity": "Findings at this severity or above go to the channels.",
            "group_window": "A burst of findings within this many seconds becomes one notification.",
            "quiet_start": "e.g. 22:00. Notifications wait until quiet hours end.",
            "quiet_end": "e.g. 07:00.",
            "quiet_timezone": "An IANA name such as Europe/Paris.",
        }
        widgets = {
            "channels": forms.CheckboxSelectMultiple,
            "escalation_channels": forms.CheckboxSelectMultiple,
            "quiet_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    field_order = [
        "name",
        "service",
        "min_severity",
        "channels",
        "escalation_channels",
        "escalate_after_minutes",
        "renotify_minutes",
        "group_window",
        "quiet_start",
        "quiet_end",
        "quiet_timezone",
        "notify_on_resolve",
        "enabled",
    ]

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self.instance.organization = org
        self.fields["service"].queryset = org.services.order_by("name")
        self.fields["service"].empty_label = "All services"
        self.fields["channels"].queryset = org.channels.order_by("name")
        self.fields["escalation_channels"].queryset = org.channels.order_by("name")
        self.fields["escalation_channels"].required = False
        self.fields["group_window"].max_value = 3600
        self.fields["group_window"].widget.attrs["max"] = 3600
        if self.instance.pk and not self.is_bound:
            if self.instance.escalate_after:
                self.initial["escalate_after_minutes"] = self.instance.escalate_after // 60
            if self.instance.renotify_every:
                self.initial["renotify_minutes"] = self.instance.renotify_every // 60

    def clean(self):
        data = super().clean()
        if data.get("escalation_channels") and not data.get("escalate_after_minutes"):
            self.add_error("escalate_after_minutes", "Say after how many minutes to escalate.")
        if data.get("escalate_after_minutes") and not data.get("escalation_channels"):
            self.add_error("escalation_channels", "Choose at least one channel to escalate to.")
        minutes = data.get("escalate_after_minutes")
        self.instance.escalate_after = minutes * 60 if minutes else None
        minutes = data.get("renotify_minutes")
        self.instance.renotify_every = minutes * 60 if minutes else None
        return data


class MaintenanceWindowForm(forms.ModelForm):
    """Times are entered as wall-clock times in the window's own time zone."""

    class Meta:
        model = MaintenanceWindow
        fields = ["title", "service", "starts_at", "ends_at", "timezone", "recurrence", "until"]
        labels = {"starts_at": "Starts", "ends_at": "Ends", "until": "Repeat until", "timezone": "Time zone"}
        help_texts = {
            "service": "Leave empty to hold notifications for every service.",
            "timezone": "An IANA name such as Europe/Paris; the times above are in this zone.",
            "until": "Only for recurring windows. Empty: repeats for ever.",
        }
        widgets = {
            name: forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
            for name in ("starts_at", "ends_at", "until")
        }

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self.instance.organization = org
        self.fields["service"].queryset = org.services.order_by("name")
        self.fields["service"].empty_label = "All services"
        if self.instance.pk and not self.is_bound:
            zone = self._zone(self.instance.timezone)
            for name in ("starts_at", "ends_at", "until"):
                value = getattr(self.instance, name)
                if value and zone:
                    self.initial[name] = value.astimezone(zone).replace(tzinfo=None)

    @staticmethod
    def _zone(name):
        from ..alerting import timing

        try:
            return timing.zone(name)
        except ValueError:
            return None

    def clean(self):
        data = super().clean()
        zone = self._zone(data.get("timezone") or "UTC")
        if zone is None:
            self.add_error("timezone", "Unknown time zone: use an IANA name such as Europe/Paris or UTC.")
            return data
        # The form read the times as UTC; they are wall-clock times in the chosen zone.
        for name in ("starts_at", "ends_at", "until"):
            value = data.get(name)
            if value:
                data[name] = timezone.make_naive(value).replace(tzinfo=zone)
        if data.get("until") and data.get("recurrence") == MaintenanceWindow.Recurrence.NONE:
            self.add_error("until", "“Repeat until” only applies to a recurring window: choose a recurrence.")
        elif data.get("until") and data.get("starts_at") and data["until"] < data["starts_at"]:
            self.add_error("until", "“Repeat until” must be after the window starts.")
        return data
