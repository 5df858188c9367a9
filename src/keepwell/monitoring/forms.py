"""The forms of the monitoring pages: a monitor (every kind and its options) and a heartbeat."""

import json
import re

from django import forms

from keepwell.core import cron
from keepwell.core.models import Service

from .durations import compact_duration, parse_duration
from .models import Heartbeat, Monitor

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
RECORD_TYPES = ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "CAA", "SRV", "PTR"]
HEADER_LINE = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*:\s*(.*)$")
STATUS_PART = re.compile(r"^(\d{3})(?:\s*-\s*(\d{3}))?$")
STATUS_CLASS = re.compile(r"^[1-5]xx$")
# Past this many monitors a drop-down of every one is too long to use: ask for the monitor's number instead.
DEPENDENCY_SELECT_LIMIT = 300
MAX_HEADERS = 50


class DurationField(forms.Field):
    """A duration typed as "30s", "5m", "1h 30m" or "1d", cleaned to seconds within [minimum, maximum]."""

    widget = forms.TextInput

    def __init__(self, *, minimum, maximum, **kwargs):
        self.minimum, self.maximum = minimum, maximum
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "maxlength": "60", "inputmode": "text"}

    def prepare_value(self, value):
        return compact_duration(value) if isinstance(value, int) else value

    def to_python(self, value):
        if value in self.empty_values or not str(value).strip():
            return None
        try:
            seconds = parse_duration(str(value))
        except ValueError as e:
            raise forms.ValidationError(str(e)) from None
        if not self.minimum <= seconds <= self.maximum:
            raise forms.ValidationError(
                f"Choose between {compact_duration(self.minimum)} and {compact_duration(self.maximum)}."
            )
        return seconds


def parse_headers(text: str) -> dict[str, str]:
    """Return the headers written one per line as `Name: value`; raise ValueError naming a bad line."""
    headers = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = HEADER_LINE.match(line.strip())
        if not match:
            raise ValueError(f"Line {number} is not a header: write one per line as “Name: value”.")
        headers[match.group(1)] = match.group(2).strip()
        if len(headers) > MAX_HEADERS:
            raise ValueError(f"Send at most {MAX_HEADERS} headers.")
    return headers


def parse_statuses(text: str) -> list[int | str]:
    """Return the expected status codes and ranges ("2xx, 301, 400-404") as a list; raise ValueError if bad."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) > 50:
        raise ValueError("List at most 50 status codes or ranges.")
    out = []
    for part in parts:
        if STATUS_CLASS.match(part.lower()):
            out.append(part.lower())
            continue
        match = STATUS_PART.match(part)
        low = int(match.group(1)) if match else 0
        high = int(match.group(2) or low) if match else 0
        if not match or not (100 <= low <= high <= 599):
            raise ValueError(f"“{part[:20]}” is not a status code or range: write e.g. 2xx, 301, 400-404.")
        out.append(low if low == high and not match.group(2) else f"{low}-{high}")
    return out


class MonitorForm(forms.ModelForm):
    interval = DurationField(
        minimum=20,
        maximum=86400,
        initial="1m",
        help_text="How often to check: from 20s to 24h, e.g. 1m or 5m.",
    )
    timeout = DurationField(
        minimum=1, maximum=120, initial="10s", help_text="How long a check may take before it fails."
    )
    # HTTP options
    method = forms.ChoiceField(choices=[(m, m) for m in METHODS], initial="GET", required=False)
    headers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=8000,
        help_text="One per line, e.g. Authorization: Bearer …",
    )
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=64000)
    expected_statuses = forms.CharField(
        required=False,
        max_length=300,
        label="Expected status codes",
        help_text="Codes or ranges, e.g. 2xx, 301, 400-404. Empty: any 2xx or 3xx.",
    )
    keyword = forms.CharField(
        required=False, max_length=500, help_text="Text the response body must contain."
    )
    keyword_absent = forms.CharField(
        required=False,
        max_length=500,
        label="Absent keyword",
        help_text="Text the response body must not contain, e.g. Maintenance.",
    )
    json_path = forms.CharField(
        required=False, max_length=300, label="JSON path", help_text="e.g. $.status or $.checks[0].ok"
    )
    json_expected = forms.CharField(
        required=False,
        max_length=500,
        label="Expected JSON value",
        help_text="e.g. ok, 3 or true (read as JSON when it is a number, true, false or null).",
    )
    follow_redirects = forms.BooleanField(required=False, initial=True)
    max_response_ms = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=120000,
        label="Maximum response time (ms)",
        help_text="Slower answers count as failures.",
    )
    # DNS options
    record_type = forms.ChoiceField(choices=[(t, t) for t in RECORD_TYPES], initial="A", required=False)
    expected = forms.CharField(
        required=False,
        max_length=500,
        label="Expected value",
        help_text="e.g. 203.0.113.7. Empty: any answer.",
    )
    nameserver = forms.GenericIPAddressField(
        required=False, label="Name server", help_text="Ask this server (an IP address). Empty: the system's."
    )
    # TLS options
    days_before_expiry = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=365,
        initial=14,
        label="Days before expiry",
        help_text="Down when the certificate expires sooner than this.",
    )
    check_hostname = forms.BooleanField(
        required=False, initial=True, label="The certificate must match the host"
    )
    check_chain = forms.BooleanField(
        required=False, initial=True, label="The chain must lead to a trusted authority"
    )

    HTTP_OPTIONS = [
        "method",
        "headers",
        "body",
        "expected_statuses",
        "keyword",
        "keyword_absent",
        "json_path",
        "json_expected",
        "follow_redirects",
        "max_response_ms",
    ]
    DNS_OPTIONS = ["record_type", "expected", "nameserver"]
    TLS_OPTIONS = ["days_before_expiry", "check_hostname", "check_chain"]
    BOOLEANS = {"follow_redirects", "check_hostname", "check_chain"}

    class Meta:
        model = Monitor
        fields = ["name", "service", "kind", "target", "interval", "timeout", "retries", "depends_on",
                  "locations_required"]  # fmt: skip
        labels = {
            "target": "Target",
            "depends_on": "Depends on",
            "locations_required": "Locations that must agree",
        }
        help_texts = {
            "target": "HTTP: the URL. TCP: host:port. DNS: the name to resolve. TLS: host or host:port.",
            "retries": "Failed checks in a row before the monitor is down.",
            "depends_on": "While that monitor is down, this one is “unreachable” and raises no alert of its own.",
        }

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self.fields["service"].queryset = Service.objects.filter(organization=org).order_by("name")
        self.fields["service"].empty_label = None
        self.fields["retries"].min_value = 1
        self.fields["retries"].widget.attrs.update(min=1, max=10)
        self.fields["retries"].validators.append(_between(1, 10))
        self.fields["locations_required"].validators.append(_between(1, 10))
        self.fields["target"].widget = forms.TextInput(attrs={"placeholder": "https://example.org/health"})
        others = Monitor.objects.filter(organization=org).exclude(pk=self.instance.pk).order_by("name", "id")
        self.fields["depends_on"].queryset = others
        if others.count() > DEPENDENCY_SELECT_LIMIT:
            self.fields["depends_on"].widget = forms.NumberInput(attrs={"min": 1})
            self.fields["depends_on"].help_text = (
                "The number of the monitor this one depends on (shown on its page, e.g. #42). "
                + self.fields["depends_on"].help_text
            )
            self.fields["depends_on"].error_messages["invalid_choice"] = (
                "There is no other monitor with that number in this organization."
            )
        else:
            self.fields["depends_on"].label_from_instance = lambda m: f"{m.name} (#{m.pk})"
        if self.instance.pk and not self.is_bound:
            self._load_options(self.instance.config or {})

    def _load_options(self, config):
        for name in self.HTTP_OPTIONS + self.DNS_OPTIONS + self.TLS_OPTIONS:
            if name not in config:
                continue
            value = config[name]
            if name == "headers" and isinstance(value, dict):
                value = "\n".join(f"{k}: {v}" for k, v in value.items())
            elif name == "expected_statuses" and isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            elif name == "json_expected" and not isinstance(value, str):
                value = json.dumps(value)
            self.initial[name] = value

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_target(self):
        return self.cleaned_data["target"].strip()

    def clean_headers(self):
        try:
            return parse_headers(self.cleaned_data["headers"])
        except ValueError as e:
            raise forms.ValidationError(str(e)) from None

    def clean_expected_statuses(self):
        try:
            return parse_statuses(self.cleaned_data["expected_statuses"])
        except ValueError as e:
            raise forms.ValidationError(str(e)) from None

    def clean_depends_on(self):
        parent = self.cleaned_data.get("depends_on")
        # Walk up the chain: a monitor may not (indirectly) depend on itself.
        seen, node = set(), parent
        while node is not None and self.instance.pk:
            if node.pk == self.instance.pk or node.pk in seen:
                raise forms.ValidationError(
                    f"{parent.name} depends on this monitor already: a monitor cannot depend on itself."
                )
            seen.add(node.pk)
            node = node.depends_on
        return parent

    def options(self, kind):
        """Return the options of `kind` that were filled in, as the monitor's config."""
        names = {
            Monitor.Kind.HTTP: self.HTTP_OPTIONS,
            Monitor.Kind.DNS: self.DNS_OPTIONS,
            Monitor.Kind.TLS: self.TLS_OPTIONS,
        }.get(kind, [])
        config = {}
        for name in names:
            value = self.cleaned_data.get(name)
            if name in self.BOOLEANS:
                config[name] = bool(value)
            elif value not in (None, "", [], {}):
                config[name] = json_scalar(value) if name == "json_expected" else value
        return config

    def clean(self):
        data = super().clean()
        kind, target = data.get("kind"), data.get("target")
        interval, timeout = data.get("interval"), data.get("timeout")
        if interval and timeout and timeout >= interval:
            self.add_error("timeout", "The timeout must be shorter than the interval between checks.")
        if kind and target and not self.errors:
            from . import probes  # imported when needed: it loads the HTTP client

            try:
                data["target"], data["config"] = probes.validate(kind, target, self.options(kind))
            except ValueError as e:
                self.add_error(_field_of(str(e), self.fields), _sentence(str(e)))
        return data

    def save(self, commit=True):
        monitor = self.instance
        monitor.organization = self.org
        monitor.config = self.cleaned_data["config"]
        monitor.target = self.cleaned_data["target"]
        return super().save(commit)


def json_scalar(text: str):
    """Return `text` as a JSON number, true, false or null when it is one, else the text itself."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return text if isinstance(value, dict | list | str) else value


def _field_of(message: str, fields) -> str | None:
    """Return the form field a validation message is about (its first word names the option), or None."""
    first = message.split(" ", 1)[0].rstrip(":,")
    if first in fields and first not in ("kind",):
        return first
    words = message.lower()
    if first == "target" or any(w in words for w in ("url", "host", "port", "address", "domain")):
        return "target"
    return None


def _between(low, high):
    def check(value):
        if value is not None and not low <= value <= high:
            raise forms.ValidationError(f"Choose a number from {low} to {high}.")

    return check


class HeartbeatForm(forms.ModelForm):
    kind = forms.ChoiceField(
        choices=Heartbeat.Kind.choices,
        widget=forms.RadioSelect,
        initial=Heartbeat.Kind.PERIOD,
        label="Schedule",
    )
    period = DurationField(
        minimum=60,
        maximum=365 * 86400,
        required=False,
        initial="1d",
        help_text="How often the job runs, e.g. 1h or 1d (for “Period”).",
    )
    grace = DurationField(
        minimum=60,
        maximum=365 * 86400,
        initial="1h",
        help_text="How late a ping may be before the heartbeat is down, e.g. 15m or 1h.",
    )
    schedule = forms.CharField(
        required=False,
        max_length=100,
        label="Cron expression",
        help_text="e.g. 0 3 * * * for 03:00 every day (for “Cron schedule”).",
    )
    tz = forms.CharField(
        max_length=64, initial="UTC", label="Time zone", help_text="e.g. Europe/Berlin or UTC."
    )

    class Meta:
        model = Heartbeat
        fields = ["name", "service", "slug", "kind", "period", "grace", "schedule", "tz"]
        help_texts = {"slug": "Optional: pings may then use /ping/<your ping key>/<slug>."}

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self.fields["service"].queryset = Service.objects.filter(organization=org).order_by("name")
        self.fields["service"].empty_label = None

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean_slug(self):
        slug = self.cleaned_data["slug"].strip().lower()
        taken = Heartbeat.objects.filter(organization=self.org, slug=slug).exclude(pk=self.instance.pk)
        if slug and taken.exists():
            raise forms.ValidationError(f"Another heartbeat uses the slug “{slug}” already: choose another.")
        return slug

    def clean_schedule(self):
        return " ".join(self.cleaned_data["schedule"].split())

    def clean_tz(self):
        name = self.cleaned_data["tz"].strip()
        try:
            cron.zone(name)
        except ValueError:
            raise forms.ValidationError(
                f"“{name[:64]}” is not a time zone: write e.g. Europe/Berlin or UTC."
            ) from None
        return name

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == Heartbeat.Kind.PERIOD and not data.get("period") and "period" not in self.errors:
            self.add_error("period", "Enter how often the job runs, e.g. 1d.")
        if kind == Heartbeat.Kind.CRON and not data.get("period"):
            data["period"] = self.instance.period or 86400  # unused by cron schedules, kept for a switch back
        if kind == Heartbeat.Kind.CRON:
            schedule = data.get("schedule", "")
            if not schedule:
                self.add_error("schedule", "Enter the job's cron expression, e.g. 0 3 * * *.")
            elif "tz" not in self.errors:
                try:
                    data["schedule"] = cron.validate_cron(
                        schedule, data.get("tz") or "UTC", noun="cron expression"
                    )
                except ValueError as e:
                    self.add_error("schedule", _sentence(str(e)))
        return data

    def save(self, commit=True):
        heartbeat = self.instance
        heartbeat.organization = self.org
        if self.cleaned_data.get("kind") == Heartbeat.Kind.PERIOD:
            heartbeat.schedule = ""
        return super().save(commit)


def _sentence(message: str) -> str:
    """Return a validator's message as a sentence: capital first letter, full stop at the end."""
    message = message.strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
