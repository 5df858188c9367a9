"""Template filters of the monitoring pages: durations, percentages and a monitor's options."""

import json

from django import template

from ..durations import format_duration
from ..probes import REDACTED, is_secret_header

register = template.Library()

OPTION_LABELS = {
    "method": "Method",
    "headers": "Headers",
    "body": "Body",
    "expected_statuses": "Expected status",
    "keyword": "Keyword",
    "keyword_absent": "Keyword must be absent",
    "json_path": "JSON path",
    "json_expected": "JSON value",
    "follow_redirects": "Follow redirects",
    "max_response_ms": "Max. response time (ms)",
    "record_type": "Record type",
    "expected": "Expected value",
    "days_before_expiry": "Days before expiry",
}


@register.filter
def duration(seconds):
    """Return seconds as "5 min", "1 h 30 min", "2 d"."""
    try:
        return format_duration(int(seconds))
    except (TypeError, ValueError):
        return ""


@register.filter
def percent(value):
    """Return a percentage (99.934) as "99.93 %"."""
    if value is None:
        return ""
    return f"{value:.2f} %"


@register.filter
def option_label(key):
    return OPTION_LABELS.get(key, str(key).replace("_", " ").capitalize())


@register.filter
def option_value(value):
    """Return an option's value as text: lists joined, headers one per line (values of secrets hidden)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {REDACTED if is_secret_header(k) else v}" for k, v in value.items())
    if isinstance(value, str):
        return value if len(value) <= 300 else value[:300] + "…"
    return json.dumps(value)
