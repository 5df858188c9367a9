"""The plan form and the restore form of the backups pages."""

import json

from django import forms
from django.conf import settings

from keepwell.core.models import Service

from . import planning, validation
from .models.plans import DEFAULT_RETENTION

RETENTION_KEYS = ["keep_last", "keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly"]
SOURCES_EXAMPLE = '[{"kind": "path", "paths": ["/srv/app/uploads"], "exclude": ["*.tmp"]}, {"kind": "sqlite", "path": "/srv/app/db.sqlite3"}]'


class PlanForm(forms.Form):
    name = forms.CharField(max_length=200)
    service = forms.ModelChoiceField(queryset=Service.objects.none())
    repository = forms.CharField(
        max_length=2000,
        help_text="A restic repository: /srv/backups/shop, sftp:user@host:/backups, s3:..., rest:https://...",
    )
    password = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted, never shown again. Leave empty to keep the current one.",
    )
    sources = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text=f"A JSON list of sources (kinds: path, sqlite, postgres, mysql), e.g. {SOURCES_EXAMPLE}",
    )
    schedule = forms.CharField(max_length=100, initial="0 3 * * *", help_text="Cron line of the backups.")
    tz = forms.CharField(max_length=64, initial="UTC", label="Time zone")
    keep_last = forms.IntegerField(min_value=0, max_value=100_000, required=False)
    keep_hourly = forms.IntegerField(min_value=0, max_value=100_000, required=False)
    keep_daily = forms.IntegerField(min_value=0, max_value=100_000, required=False)
    keep_weekly = forms.IntegerField(min_value=0, max_value=100_000, required=False)
    keep_monthly = forms.IntegerField(min_value=0, max_value=100_000, required=False)
    keep_yearly = forms.IntegerField(min_value=0, max_value=100_000, required=False)
    prune_schedule = forms.CharField(
        max_length=100, required=False, initial="30 4 * * *", label="Forget and prune schedule"
    )
    check_schedule = forms.CharField(
        max_length=100, required=False, initial="0 5 * * 0", label="Check schedule"
    )
    check_read_data_subset = forms.RegexField(
        regex=r"^[0-9./%A-Za-z]*$", max_length=20, required=False, label="Data read by checks",
        help_text="e.g. 5% or 1/10; empty: check the structure only.",
    )  # fmt: skip
    drill_schedule = forms.CharField(
        max_length=100, required=False, initial="0 6 * * 0", label="Drill schedule"
    )
    verify_command = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text="Run after a drill restores, with the sandbox in $KEEPWELL_RESTORE_PATH (if the hub allows it).",
    )
    grace_minutes = forms.IntegerField(min_value=0, max_value=525_600, initial=60)
    max_restore_age_days = forms.IntegerField(
        min_value=0, max_value=3650, initial=14, label="Verified restore at least every (days)",
        help_text="A finding opens when no drill has passed for this long; 0 turns it off.",
    )  # fmt: skip
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, org, plan=None, **kwargs):
        self.org, self.plan = org, plan
        if plan is not None and "initial" not in kwargs:
            kwargs["initial"] = initial_for(plan)
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(organization=org).order_by("name")
        if plan is None:
            self.fields["password"].required = True
            self.fields["password"].help_text = "Stored encrypted, never shown again."
            for key, value in DEFAULT_RETENTION.items():
                self.fields[key].initial = value
            self.fields["sources"].initial = ""
        for name in ("sources", "verify_command"):
            self.fields[name].widget.attrs["class"] = "mono"

    def clean_sources(self):
        text = self.cleaned_data["sources"]
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(
                f"This is not valid JSON ({exc}). Example: {SOURCES_EXAMPLE}"
            ) from None
        return value

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        from .models import Plan

        plan = self.plan or Plan(organization=self.org)
        values = {k: data[k] for k in ("name", "schedule", "tz", "prune_schedule", "check_schedule",
                                       "drill_schedule", "check_read_data_subset", "verify_command",
                                       "grace_minutes", "max_restore_age_days", "enabled", "sources")}  # fmt: skip
        values["retention"] = {k: data[k] for k in RETENTION_KEYS if data.get(k) is not None}
        location = data["repository"].strip()
        if self.plan is None or data["password"] or location != self.plan.repository.location:
            values["repository"] = location
            values["password"] = data["password"] or (
                self.plan.repository.password
                if self.plan and location == self.plan.repository.location
                else ""
            )
        try:
            planning.apply(plan, values, self.org)
        except planning.PlanError as exc:
            field = exc.field if exc.field in self.fields else None
            if field == "retention":
                field = None
            self.add_error(field, str(exc))
            return data
        plan.service = data["service"]
        self.instance = plan
        return data


def initial_for(plan) -> dict:
    initial = {
        "name": plan.name,
        "service": plan.service_id,
        "repository": plan.repository.location,
        "sources": json.dumps(plan.sources, indent=2),
        "schedule": plan.schedule,
        "tz": plan.tz,
        "prune_schedule": plan.prune_schedule,
        "check_schedule": plan.check_schedule,
        "check_read_data_subset": plan.check_read_data_subset,
        "drill_schedule": plan.drill_schedule,
        "verify_command": plan.verify_command,
        "grace_minutes": plan.grace_minutes,
        "max_restore_age_days": plan.max_restore_age_days,
        "enabled": plan.enabled,
    }
    for key in RETENTION_KEYS:
        initial[key] = (plan.retention or {}).get(key)
    return initial


class RestoreForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            ("path", "Files into a new or empty folder"),
            ("database", "A database dump into a database"),
        ],
        widget=forms.RadioSelect,
        initial="path",
        label="Restore",
    )
    path = forms.CharField(
        max_length=4096, required=False, help_text="An absolute path, e.g. /srv/restore/shop"
    )
    database = forms.CharField(
        max_length=2000,
        required=False,
        help_text="postgres://user@host/scratch, mysql://root@host/scratch or sqlite:////srv/restore/new.db",
        widget=forms.PasswordInput(render_value=True),
    )
    run = forms.TypedChoiceField(coerce=int, label="Backup")

    def __init__(self, *args, runs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["run"].choices = [
            (r.pk, f"#{r.pk} · {r.finished:%Y-%m-%d %H:%M} · {', '.join(r.snapshot_ids)}") for r in runs
        ]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            if data["kind"] == "path":
                data["target"] = validation.restore_target(
                    path=data.get("path"), roots=settings.BACKUP_PATH_ROOTS
                )
            else:
                data["target"] = validation.restore_target(
                    database=data.get("database"), roots=settings.BACKUP_PATH_ROOTS
                )
        except ValueError as exc:
            self.add_error("path" if data["kind"] == "path" else "database", str(exc))
        return data
